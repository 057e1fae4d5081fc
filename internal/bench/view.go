package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
)

// view is everything the report says, computed once from the results: each
// ratio in exactly one place, the goals table and the sections' prose read
// the same fields.
type view struct {
	R *Results
	P Params
	// The configuration the flags start from.
	Defaults nat.Config
	Goals    goals
	// The sections; nil when not run.
	Fresh    *freshView
	Reapply  *reapplyView
	Scale    []scaleView
	Datapath *dpView
	Memory   *memView
	GoBench  []goBenchRow
	Front    *frontView
	// Installer is section 8, nil when not run.
	Installer *installerView
	// Section 2's floor, the exec of `true`, which section 3 does not
	// subtract.
	ExecFloor float64
	// PlanAndBuild at the worst port case, for "where the time goes".
	WorstBuild *goBenchRow
}

// goals are the thresholds, for the template.
type goals struct {
	VsNft, VsIptables, Scale, Datapath float64
	RSSMiB, BinaryMiB                  float64
	CNIMeshed, CNISkip                 float64
}

func newView(res *Results) *view {
	v := &view{R: res, P: res.Params, Defaults: nat.DefaultConfig(), Goals: goals{goalVsNft, goalVsIptables, goalScale, goalDatapath, goalRSSMiB, goalBinaryMiB, goalCNIMeshed, goalCNISkip}}
	v.Fresh = newFreshView(res)
	v.Reapply = newReapplyView(res)
	v.ExecFloor = v.Reapply.floor()
	for _, s := range res.Scale {
		v.Scale = append(v.Scale, newScaleView(s, v.ExecFloor))
	}
	v.Datapath = newDPView(res)
	v.Memory = newMemView(res)
	v.Front = newFrontView(res)
	v.Installer = newInstallerView(res)
	for _, g := range res.GoBench {
		row := newGoBenchRow(g)
		v.GoBench = append(v.GoBench, row)
		if g.Name == "PlanAndBuild/ports65536" {
			v.WorstBuild = &row
		}
	}
	return v
}

// setCharts links each section to its chart; hack/benchplot draws them.
func (v *view) setCharts(charts []chartData) {
	for i := range charts {
		ch := &charts[i].chart
		switch {
		case ch.Key == "fresh" && v.Fresh != nil:
			v.Fresh.Chart = ch
		case ch.Key == "datapath" && v.Datapath != nil:
			v.Datapath.Chart = ch
		}
		for j := range v.Scale {
			if ch.Key == "apply-"+v.Scale[j].Axis {
				v.Scale[j].Chart = ch
			}
		}
	}
}

// med is the sample's median, NaN when it has no figures to show.
func med(s *Sample) float64 {
	if s == nil || !s.ok() {
		return math.NaN()
	}
	return s.Median()
}

// aboveRatio is (a-d)/(b-d) of the medians; aboveRatioMin of the minima.
func aboveRatio(a, b, floor *Sample) float64    { return ratioAbove(a, b, floor, (*Sample).Median) }
func aboveRatioMin(a, b, floor *Sample) float64 { return ratioAbove(a, b, floor, (*Sample).Min) }

func ratioAbove(a, b, floor *Sample, stat func(*Sample) float64) float64 {
	if a == nil || b == nil || floor == nil || !a.ok() || !b.ok() || !floor.ok() {
		return math.NaN()
	}
	return (stat(a) - stat(floor)) / (stat(b) - stat(floor))
}

// chunkRatios splits the runs of a, b and floor, kept in the order they
// were measured, into n consecutive parts and returns (a-d)/(b-d) of each
// part's medians: the spread of the ratio within one run of the benchmark.
func chunkRatios(a, b, floor *Sample, n int) []float64 {
	if a == nil || b == nil || floor == nil || n < 1 {
		return nil
	}
	part := func(s *Sample, i int) *Sample {
		lo, hi := i*len(s.MS)/n, (i+1)*len(s.MS)/n
		return &Sample{MS: s.MS[lo:hi]}
	}
	var out []float64
	for i := range n {
		out = append(out, aboveRatio(part(a, i), part(b, i), part(floor, i)))
	}
	return out
}

// table is samples with their medians above the one keyed "floor".
type table struct {
	First   string
	WithGen bool
	Rows    []row
}

type row struct {
	Label, Err              string
	Median, Min, Max, Above float64 // Above is NaN for the floor
	Runs                    int
	Gen                     string
	Floor                   bool
}

func newTable(first string, samples []Sample, withGen bool) table {
	t := table{First: first, WithGen: withGen}
	fl := find(samples, "floor")
	for i := range samples {
		s := &samples[i]
		r := row{Label: s.Label, Err: s.Err, Above: math.NaN(), Floor: s.Key == "floor", Gen: gens(s)}
		if s.Err == "" {
			r.Median, r.Min, r.Max, r.Runs = s.Median(), s.Min(), s.Max(), len(s.MS)
			if !r.Floor && fl != nil {
				r.Above = s.Median() - fl.Median()
			}
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}

func gens(s *Sample) string {
	if len(s.Gen) == 0 {
		return "-"
	}
	g := append([]int(nil), s.Gen...)
	sort.Ints(g)
	if g[0] == g[len(g)-1] {
		return fmt.Sprint(g[0])
	}
	return fmt.Sprintf("%d-%d", g[0], g[len(g)-1])
}

// freshView is section 1.
type freshView struct {
	Table table
	// (a-d)/(b'-d) against the plain load, of medians and of minima, and
	// per quarter of the passes; against the idiom text; against
	// iptables-nft.
	VsPlain, VsPlainMin float64
	Quarters            []float64
	VsIdiom, VsIdiomMin float64
	VsIptables          float64
	// The hyperfine cross-check, when it ran.
	Blocks                          *table
	BlocksVsPlain, BlocksVsPlainMin float64
	BlockRatios                     []float64
	// Medians moved from blocks to interleaved.
	Moved string
	// (b) - (b'): the replace idiom's RCU wait.
	IdiomWait float64
	// The empty Go program above the floor, its share of ours, and the
	// rest of ours.
	GoStart, GoShare, AfterGo float64
	// The stacked bars of the chart: ours split into its parts, when
	// every part was measured.
	Decomposed bool
	// Split: ours is split into all four parts (rows (e) and (f) were
	// measured).
	Split bool
	Bars  []freshBar
	Chart *chart
}

// freshBar is one command's fresh apply in parts, milliseconds. For ours:
// the floor, Go's start (an empty Go program above the floor), our work
// (--simulate above the empty program) and the commit (ours above
// --simulate), or as Rest what could not be split for want of a
// measurement; for the others, the floor and the rest (Other).
type freshBar struct {
	Name, Kind                                       string
	Floor, GoStart, Work, Commit, Rest, Other, Total float64
}

func newFreshView(res *Results) *freshView {
	if len(res.Fresh) == 0 {
		return nil
	}
	s := func(k string) *Sample { return find(res.Fresh, k) }
	fl, ours, nft, nftp, ipt, gof, sim := s("floor"), s("ours"), s("nft"), s("nft-plain"), s("iptables"), s("gofloor"), s("sim")
	f := &freshView{
		Table:   newTable("command", res.Fresh, true),
		VsPlain: aboveRatio(ours, nftp, fl), VsPlainMin: aboveRatioMin(ours, nftp, fl),
		Quarters: chunkRatios(ours, nftp, fl, 4),
		VsIdiom:  aboveRatio(ours, nft, fl), VsIdiomMin: aboveRatioMin(ours, nft, fl),
		VsIptables: aboveRatio(ours, ipt, fl),
		IdiomWait:  med(nft) - med(nftp),
		GoStart:    med(gof) - med(fl),
		AfterGo:    med(ours) - med(gof),
	}
	f.GoShare = f.GoStart / (med(ours) - med(fl))
	if len(res.FreshBlocks) > 0 {
		b := func(k string) *Sample { return find(res.FreshBlocks, k) }
		t := newTable("command", res.FreshBlocks, false)
		f.Blocks = &t
		f.BlocksVsPlain, f.BlocksVsPlainMin = aboveRatio(b("ours"), b("nft-plain"), b("floor")), aboveRatioMin(b("ours"), b("nft-plain"), b("floor"))
		f.BlockRatios = chunkRatios(b("ours"), b("nft-plain"), b("floor"), max(res.Params.BlockRounds, 1))
		var moved []string
		for _, k := range []struct{ key, name string }{{"floor", "the floor"}, {"ours", "ours"}, {"nft-plain", "nft's plain load"}} {
			if x, y := med(s(k.key)), med(b(k.key)); !math.IsNaN(x - y) {
				moved = append(moved, fmt.Sprintf("%s %+.2f ms", k.name, x-y))
			}
		}
		f.Moved = strings.Join(moved, ", ")
	}
	d := med(fl)
	if !anyNaN(d, med(ours), med(nftp), med(ipt)) {
		f.Decomposed = true
		o := freshBar{Name: "proxy-init\n(ours)", Kind: "ours", Floor: d, Total: med(ours)}
		switch {
		case !anyNaN(med(gof), med(sim)):
			o.GoStart, o.Work, o.Commit = med(gof)-d, med(sim)-med(gof), med(ours)-med(sim)
			fold(&o.GoStart, &o.Work, &o.Commit)
			f.Split = true
		case !math.IsNaN(med(gof)): // results from before row (f)
			o.GoStart, o.Rest = med(gof)-d, med(ours)-med(gof)
		default:
			o.Rest = med(ours) - d
		}
		f.Bars = []freshBar{
			o,
			{Name: "nft -f\n(plain load)", Kind: "nft", Floor: d, Other: med(nftp) - d, Total: med(nftp)},
			{Name: "nft -f\n(replace idiom)", Kind: "nft", Floor: d, Other: med(nft) - d, Total: med(nft)},
			{Name: "iptables-nft\nsequence", Kind: "iptables", Floor: d, Other: med(ipt) - d, Total: med(ipt)},
		}
		if math.IsNaN(med(nft)) { // the idiom bar is optional
			f.Bars = append(f.Bars[:2], f.Bars[3])
		}
	}
	return f
}

// fold moves a negative part (noise: one median below the one it is
// measured against) into the parts after it, or before it for the last, so
// that no part is drawn negative and the parts still sum to the same total.
func fold(parts ...*float64) {
	carry := 0.0
	add := func(p *float64) {
		if x := *p + carry; x < 0 {
			*p, carry = 0, x
		} else {
			*p, carry = x, 0
		}
	}
	for _, p := range parts {
		add(p)
	}
	for i := len(parts) - 1; i >= 0 && carry < 0; i-- {
		add(parts[i])
	}
}

func anyNaN(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) {
			return true
		}
	}
	return false
}

// reapplyView is section 2.
type reapplyView struct {
	Table table
	// ours / nft for the same and the changed configuration.
	Same, Changed vsNft
	// verify's median and what the identical re-run spends beyond it.
	Verify, Beyond float64
	// Section 1's goal with this section's timer.
	VsPlain float64
	// Where the time goes: ours fresh, --simulate and the difference
	// (netlink and commit), above this section's floor.
	FreshAbove, SimAbove, Commit float64
	IdiomCost                    float64
	Floor                        float64
}

type vsNft struct{ Ours, Nft, Ratio float64 }

func newReapplyView(res *Results) *reapplyView {
	if len(res.Reapply) == 0 {
		return nil
	}
	s := func(k string) *Sample { return find(res.Reapply, k) }
	pair := func(kind string) vsNft {
		o, n := med(s(kind+"-ours")), med(s(kind+"-nft"))
		return vsNft{o, n, o / n}
	}
	fl := med(s("floor"))
	r := &reapplyView{
		Table: newTable("", res.Reapply, true),
		Same:  pair("same"), Changed: pair("chg"),
		Verify:     med(s("verify-ours")),
		VsPlain:    aboveRatio(s("fresh-ours"), s("fresh-nft-plain"), s("floor")),
		FreshAbove: med(s("fresh-ours")) - fl,
		SimAbove:   med(s("sim")) - fl,
		IdiomCost:  med(s("fresh-nft")) - med(s("fresh-nft-plain")),
		Floor:      fl,
	}
	r.Beyond = r.Same.Ours - r.Verify
	r.Commit = r.FreshAbove - r.SimAbove
	return r
}

func (r *reapplyView) floor() float64 {
	if r == nil {
		return math.NaN()
	}
	return r.Floor
}

// scaleView is one axis of section 3.
type scaleView struct {
	Axis, Title string
	Rows        []scaleRow
	// The largest ours/nft at any point, the ratio of minima there.
	Worst, WorstMin float64
	WorstAt         string
	AllOK           bool
	Largest         largest
	Chart           *chart
}

type scaleRow struct {
	Label, Ours, Nft, Ratio, Iptables, Stub, Gens string
}

// largest is the biggest point's check: ours applied in one transaction.
type largest struct {
	What, Label, Txn, Err string
	Runs                  int
	OK                    bool
	Ours, Nft             float64
}

func newScaleView(s Series, floor float64) scaleView {
	sv := scaleView{Axis: s.Axis, AllOK: true, Title: map[string]string{
		"ports":   "Ignored inbound ports (`--inbound-ports-to-ignore` entries)",
		"subnets": "Ignored subnets per family (`--subnets-to-ignore`)",
	}[s.Axis]}
	for _, p := range s.Points {
		o, n, i, st := find(p.Samples, "ours"), find(p.Samples, "nft"), find(p.Samples, "iptables"), find(p.Samples, "iptables-stub")
		q := "-"
		if r := med(o) / med(n); !math.IsNaN(r) {
			q = fmt.Sprintf("%.2f", r)
			if !math.IsNaN(floor) {
				q += fmt.Sprintf(" (%.2f)", (med(o)-floor)/(med(n)-floor))
			}
			if r > sv.Worst {
				sv.Worst, sv.WorstMin, sv.WorstAt = r, o.Min()/n.Min(), p.Label
			}
		} else {
			sv.AllOK = false
		}
		sv.Rows = append(sv.Rows, scaleRow{p.Label, cell(o), cell(n), q, cell(i), cell(st), gens(o) + " / " + gens(n) + " / " + gens(i)})
	}
	if len(s.Points) > 0 {
		last := s.Points[len(s.Points)-1]
		if o := find(last.Samples, "ours"); o != nil {
			l := largest{Label: last.Label, Runs: len(o.MS), Err: o.Err, Ours: med(o), Nft: med(find(last.Samples, "nft")), Txn: "?"}
			l.What = map[string]string{"ports": "worst case, every other port (32768 intervals per family)", "subnets": "4096 subnets per family"}[s.Axis]
			if len(o.Gen) > 0 {
				l.Txn = fmt.Sprint(o.Gen[0])
				for _, g := range o.Gen {
					if g != o.Gen[0] {
						l.Txn = fmt.Sprint(o.Gen)
					}
				}
			}
			l.OK = o.ok() && l.Txn == "1"
			sv.Largest = l
		}
	}
	return sv
}

// killedAfter says how long a run that was killed at the time limit ran:
// the time recorded for it.
func killedAfter(s *Sample) string { return fmt.Sprintf("> %.0f s, killed", s.Max()/1000) }

func cell(s *Sample) string {
	switch {
	case s == nil:
		return "-"
	case s.TimedOut && s.Key == "iptables":
		return killedAfter(s) + ": series stopped"
	case s.TimedOut:
		return killedAfter(s)
	case s.Skipped != "":
		return "not run"
	case s.Err != "":
		return "error: " + strings.ReplaceAll(s.Err, "|", "/")
	case len(s.MS) == 1:
		return ms(s.MS[0]) + " (1 run)"
	}
	return fmt.Sprintf("%s (%s-%s)", ms(s.Median()), ms(s.Min()), ms(s.Max()))
}

// dpView is section 4.
type dpView struct {
	Rows []dpRow
	// Paired per-round ratios (4096 subnets / none) and ratios of
	// medians, ours and iptables-nft; the medians of ours.
	Ours, OursMedians, Iptables, IptablesMedians float64
	OursBusy, OursBase                           float64
	Check                                        string
	// The topology, from the constants the section uses.
	PodAddr, PeerAddr  string
	ProxyPort, AppPort int
	Chart              *chart
}

type dpRow struct {
	Label, Err, Install string
	Median, Min, Max    float64
	Runs, Conns, Errors int
}

func newDPView(res *Results) *dpView {
	if len(res.Datapath) == 0 {
		return nil
	}
	d := &dpView{Check: res.DPCheck, PodAddr: podAddr, PeerAddr: peerAddr, ProxyPort: proxyPort, AppPort: appPort,
		Ours: math.NaN(), OursMedians: math.NaN(), Iptables: math.NaN(), IptablesMedians: math.NaN(), OursBusy: math.NaN(), OursBase: math.NaN()}
	for _, r := range res.Datapath {
		row := dpRow{Label: r.Label, Err: r.Err, Install: "-", Runs: len(r.PerSec), Errors: r.Errors,
			Median: median(r.PerSec), Min: minOf(r.PerSec), Max: maxOf(r.PerSec)}
		for _, c := range r.Conns {
			row.Conns += c
		}
		if r.Install > 0 {
			row.Install = ms(r.Install) + " ms"
		}
		d.Rows = append(d.Rows, row)
	}
	ratios := func(busy, base string) (paired, medians float64) {
		a, b := find(res.Datapath, busy), find(res.Datapath, base)
		if a == nil || b == nil || len(a.PerSec) == 0 || len(b.PerSec) == 0 {
			return math.NaN(), math.NaN()
		}
		return pairedRatio(a, b), median(a.PerSec) / median(b.PerSec)
	}
	d.Ours, d.OursMedians = ratios("ours-4096", "ours-0")
	d.Iptables, d.IptablesMedians = ratios("iptables-4096", "iptables-0")
	if a, b := find(res.Datapath, "ours-4096"), find(res.Datapath, "ours-0"); a != nil && b != nil {
		d.OursBusy, d.OursBase = median(a.PerSec), median(b.PerSec)
	}
	return d
}

// pairedRatio is the median over rounds of a's rate divided by b's rate in
// the same round.
func pairedRatio(a, b *Rate) float64 {
	var qs []float64
	for i := range min(len(a.PerSec), len(b.PerSec)) {
		if b.PerSec[i] > 0 {
			qs = append(qs, a.PerSec[i]/b.PerSec[i])
		}
	}
	return median(qs)
}

// memView is section 5.
type memView struct {
	Rows []row // MiB figures in KiB, as measured
	// The section 1 configuration, the largest of ours, and where.
	Default, Worst float64
	WorstAt        string
	// ours and nft at the worst port case.
	OursPorts, NftPorts float64
	Binary              Binary
	BinaryMiB           float64
	BinaryOK            bool
}

func newMemView(res *Results) *memView {
	if len(res.Memory) == 0 {
		return nil
	}
	m := &memView{Binary: res.Binary, BinaryMiB: float64(res.Binary.Bytes) / (1 << 20)}
	m.BinaryOK = res.Binary.Static && m.BinaryMiB < goalBinaryMiB
	for i := range res.Memory {
		s := &res.Memory[i]
		m.Rows = append(m.Rows, newTable("", []Sample{*s}, false).Rows...)
		if strings.HasPrefix(s.Key, "ours") && s.ok() && s.Median() > m.Worst {
			m.Worst, m.WorstAt = s.Median(), s.Label
		}
	}
	m.Default = med(find(res.Memory, "ours-default"))
	m.OursPorts, m.NftPorts = med(find(res.Memory, "ours-ports")), med(find(res.Memory, "nft-ports"))
	return m
}

// frontView is section 7.
type frontView struct {
	Table   table
	Missing []string
	// Which front ends were measured.
	Measured map[string]bool
	// Medians above the section's floor.
	Apply, Validate, ExplainSim, ExplainLive, VerifyLive float64
	// The CNI rows: ours by path from the node namespace, ADD meshed and
	// ADD skipped.
	CNIApply, CNIMeshed, CNISkip, CNIVersion float64
	// Upstream's linkerd-cni in the same rounds, nil when not measured.
	Upstream *upstreamCNIView
}

// upstreamCNIView is upstream's plugin beside ours: its rows above the
// floor, the two goal ratios (computed here only) and both binaries.
type upstreamCNIView struct {
	Meshed, MeshedV4, Skip, Version float64
	// ours / upstream's, medians above the floor, and of the minima.
	MeshedRatio, MeshedRatioMin, SkipRatio, SkipRatioMin float64
	Ours, Theirs                                         *Binary
	Commit, Env                                          string
}

func newFrontView(res *Results) *frontView {
	if len(res.FrontEndRows) == 0 && len(res.FrontEndsMissing) == 0 {
		return nil
	}
	f := &frontView{Table: newTable("", res.FrontEndRows, true), Missing: res.FrontEndsMissing, Measured: map[string]bool{}}
	for _, k := range res.FrontEnds {
		f.Measured[k] = true
	}
	fl := med(find(res.FrontEndRows, "floor"))
	above := func(k string) float64 { return med(find(res.FrontEndRows, k)) - fl }
	f.Apply, f.Validate = above("apply"), above("validate")
	f.ExplainSim, f.ExplainLive, f.VerifyLive = above("explain-sim"), above("explain-live"), above("verify-live")
	f.CNIApply, f.CNIMeshed, f.CNISkip, f.CNIVersion = above("cni-apply"), above("cni-meshed"), above("cni-skip"), above("cni-version")
	if f.Measured["cni-upstream"] {
		row := func(k string) *Sample { return find(res.FrontEndRows, k) }
		floor := row("floor")
		f.Upstream = &upstreamCNIView{
			Meshed: above("up-meshed"), MeshedV4: above("up-meshed-v4"), Skip: above("up-skip"), Version: above("up-version"),
			MeshedRatio: aboveRatio(row("cni-meshed"), row("up-meshed"), floor), MeshedRatioMin: aboveRatioMin(row("cni-meshed"), row("up-meshed"), floor),
			SkipRatio: aboveRatio(row("cni-skip"), row("up-skip"), floor), SkipRatioMin: aboveRatioMin(row("cni-skip"), row("up-skip"), floor),
			Ours: res.CNIBinary, Theirs: res.UpstreamCNIBinary, Commit: upstreamCNICommit, Env: upstreamCNIEnv,
		}
	}
	return f
}

// goBenchRow is one Go benchmark's medians.
type goBenchRow struct {
	Name, Other       string
	NS, Bytes, Allocs float64
}

func newGoBenchRow(g GoBench) goBenchRow {
	var units, other []string
	for u := range g.Values {
		units = append(units, u)
	}
	sort.Strings(units)
	for _, u := range units {
		switch u {
		case "ns/op", "B/op", "allocs/op":
			continue
		}
		other = append(other, fmt.Sprintf("%.0f %s", median(g.Values[u]), u))
	}
	return goBenchRow{Name: g.Name, Other: strings.Join(other, ", "),
		NS: median(g.Values["ns/op"]), Bytes: median(g.Values["B/op"]), Allocs: median(g.Values["allocs/op"])}
}

package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// synthetic is a full run's results with made-up figures: every section,
// a timed-out iptables-nft point, and the parts of the fresh apply.
func synthetic() *Results {
	rng := rand.New(rand.NewPCG(1, 2))
	sample := func(key, label string, ms float64, n int) Sample {
		s := Sample{Key: key, Label: label}
		for range n {
			s.MS = append(s.MS, ms*(0.9+0.2*rng.Float64()))
			s.Gen = append(s.Gen, 1)
		}
		return s
	}
	p := params(false)
	r := &Results{Started: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), Params: p, Elapsed: Duration{5 * time.Minute}}
	r.Machine = Machine{CPU: "test CPU", Cores: 2, Commit: "abc1234 test"}
	r.Base, r.Changed = baseFlags, changedFlags
	r.Fresh = []Sample{
		sample("floor", "(d) floor", 5.5, 20), sample("ours", "(a) ours", 7.6, 20), sample("nft", "(b) nft", 17, 20),
		sample("nft-plain", "(b') nft plain", 9.4, 20), sample("iptables", "(c) iptables", 70, 6),
		sample("gofloor", "(e) gofloor", 6.3, 20), sample("sim", "(f) sim", 7.0, 20),
	}
	r.FreshBlocks = r.Fresh[:4]
	for _, k := range []struct {
		key string
		ms  float64
	}{{"floor", 1.2}, {"sim", 2.7}, {"fresh-ours", 3.2}, {"fresh-nft", 14}, {"fresh-nft-plain", 5.2}, {"fresh-iptables", 66},
		{"same-ours", 4}, {"verify-ours", 4.3}, {"same-nft", 16}, {"same-iptables", 115}, {"chg-ours", 13.7}, {"chg-nft", 15.7}, {"chg-iptables", 111}} {
		r.Reapply = append(r.Reapply, sample(k.key, k.key, k.ms, 5))
	}
	for _, ax := range []string{"ports", "subnets"} {
		s := Series{Axis: ax}
		for i, x := range []int{0, 16, 256, 4096, 32768} {
			f := float64(max(x, 1))
			ipt := sample("iptables", "iptables", 70+4*f, 3)
			if i == 4 {
				ipt = Sample{Key: "iptables", Label: "iptables", MS: []float64{60100}, TimedOut: true}
			}
			s.Points = append(s.Points, Point{Label: strings.Repeat("x", i+1), X: x, Samples: []Sample{
				sample("ours", "ours", 3+0.005*f, 5), sample("nft", "nft", 5+0.01*f, 5), ipt, sample("iptables-stub", "stub", 50+2*f, 1),
			}})
		}
		r.Scale = append(r.Scale, s)
	}
	for _, k := range []string{"none", "ours-0", "ours-4096", "iptables-0", "iptables-4096"} {
		d := Rate{Key: k, Label: k, Install: 4}
		for range 6 {
			d.PerSec = append(d.PerSec, 8000*(0.9+0.2*rng.Float64()))
			d.Conns = append(d.Conns, 4000)
		}
		r.Datapath = append(r.Datapath, d)
	}
	r.Memory = []Sample{sample("ours-default", "ours", 3300, 3), sample("ours-ports", "ours ports", 11000, 3), sample("nft-ports", "nft ports", 54000, 3)}
	r.Binary = Binary{Path: "bin/proxy-init", Bytes: 3 << 20, Static: true}
	r.FrontEnds = []string{"validate", "explain", "cni", "cni-upstream"}
	r.FrontEndsMissing = []string{"the CNI plugin: not measured: not in this build"}
	for _, k := range []struct {
		key string
		ms  float64
	}{{"floor", 1.2}, {"apply", 3.2}, {"validate", 4}, {"explain-sim", 90}, {"explain-live", 150}, {"verify-live", 120},
		{"cni-apply", 3.5}, {"cni-meshed", 12}, {"cni-skip", 8}, {"cni-version", 6},
		{"up-meshed", 101.2}, {"up-meshed-v4", 61.2}, {"up-skip", 31.2}, {"up-version", 11.2}} {
		r.FrontEndRows = append(r.FrontEndRows, sample(k.key, k.key, k.ms, 4))
	}
	r.CNIBinary = &Binary{Path: "bin/proxy-init-cni", Bytes: 14 << 20, Static: true}
	r.UpstreamCNIBinary = &Binary{Path: "$BENCH_UPSTREAM_CNI", Bytes: 25 << 20, Static: true}
	r.GoBench = []GoBench{{Name: "PlanAndBuild/ports65536", Values: map[string][]float64{"ns/op": {3.8e6}, "B/op": {2.7e6}, "allocs/op": {679}}}}
	return r
}

// TestReport renders a full run's report: every chart is linked, the prose quotes the parameters the run used, and nothing in
// the template lacks a value.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	res := synthetic()
	if err := writeReport(res, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	report := string(b)
	for _, bad := range []string{"<no value>", "%!", "NaN", "<nil>"} {
		if i := strings.Index(report, bad); i >= 0 {
			t.Errorf("report contains %q: ...%s...", bad, report[max(0, i-200):min(len(report), i+100)])
		}
	}
	p := res.Params
	for _, want := range []string{
		"takes over 60 s", "bounded by 30000 connections or 500 ms", "200 runs each (iptables: 60",
		"Every row runs 50 times", "-count 5 -benchtime 300ms", "## Where the time goes", "**met**", "## 7. Front ends", "**validate**", "**explain**", "**CNI ADD**",
		"plus `--inbound-ports-to-ignore 4190,4191`", "then applies\n`--inbound-ports-to-ignore 4190,4191,9090`", "proxy uid 2102",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if p.IptLimit.Duration != time.Minute || p.DPMaxConns != 30000 {
		t.Fatalf("the expectations above are for params(false), which changed: %+v", p)
	}
	for _, c := range []string{"fresh", "apply-ports", "apply-subnets", "datapath"} {
		for _, ext := range []string{".png", ".svg"} {
			if name := c + ext; !strings.Contains(report, "("+name+")") {
				t.Errorf("report does not link %s", name)
			}
		}
	}
}

// written is a directory holding what writeReport writes for r.
func written(t *testing.T, r *Results) string {
	t.Helper()
	dir := t.TempDir()
	if err := writeReport(r, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// renderChecked writes r's report and returns its text, failing on a
// template value that was missing.
func renderChecked(t *testing.T, r *Results) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(written(t, r), "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<no value>", "%!", "NaN", "<nil>"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	return string(b)
}

// TestReportUpstreamCNI: with upstream's plugin measured, the goals table
// and section 7 give both ratios against the goals and both binaries' sizes;
// without it (BENCH_UPSTREAM_CNI unset), they say how to measure it and the
// rest of the section stays.
func TestReportUpstreamCNI(t *testing.T) {
	lineWith := func(report, s string) string {
		for _, l := range strings.Split(report, "\n") {
			if strings.Contains(l, s) {
				return l
			}
		}
		return ""
	}
	how := "not measured in this run: set BENCH_UPSTREAM_CNI to upstream's plugin built from source (commit 183e791)"

	t.Run("measured", func(t *testing.T) {
		r := synthetic()
		// Medians are not exact (the samples are jittered): the ratios
		// are about (12-1.2)/(101.2-1.2) and (8-1.2)/(31.2-1.2).
		v := newView(r)
		if u := v.Front.Upstream; u == nil || u.MeshedRatio < 0.09 || u.MeshedRatio > 0.13 || u.SkipRatio < 0.19 || u.SkipRatio > 0.27 {
			t.Fatalf("upstream view %+v, want ratios near 0.108 and 0.227", v.Front.Upstream)
		}
		report := renderChecked(t, r)
		for _, c := range []struct{ line, want string }{
			{"CNI ADD, a meshed pod: ours <= 0.15x upstream's", "**met**"},
			{"CNI ADD, an unmeshed pod (the skip path): ours <= 0.8x", "**met**"},
			{"Binaries: ours (bin/proxy-init-cni) 14.0 MiB", "upstream's 25.0 MiB"},
			{"| up-meshed-v4 |", "| 4 |"}, // the row, with its runs
		} {
			if l := lineWith(report, c.line); !strings.Contains(l, c.want) {
				t.Errorf("line with %q is %q, want it to contain %q", c.line, l, c.want)
			}
		}
		if strings.Contains(report, how) {
			t.Errorf("report says %q though upstream was measured", how)
		}
	})

	t.Run("not measured", func(t *testing.T) {
		r := synthetic()
		r.FrontEnds = []string{"validate", "explain", "cni"}
		r.FrontEndsMissing = []string{"upstream's CNI plugin (linkerd-cni ADD): " + how}
		var rows []Sample
		for _, s := range r.FrontEndRows {
			if !strings.HasPrefix(s.Key, "up-") {
				rows = append(rows, s)
			}
		}
		r.FrontEndRows, r.UpstreamCNIBinary = rows, nil
		report := renderChecked(t, r)
		if l := lineWith(report, "CNI ADD against upstream's linkerd-cni in the same run"); !strings.Contains(l, how) {
			t.Errorf("goals line is %q, want it to say %q", l, how)
		}
		if !strings.Contains(report, "- upstream's CNI plugin (linkerd-cni ADD): "+how) {
			t.Errorf("section 7 does not say %q", how)
		}
		for _, unwanted := range []string{"**upstream's linkerd-cni**", "ours <= 0.15x upstream's"} {
			if strings.Contains(report, unwanted) {
				t.Errorf("report contains %q without upstream's rows", unwanted)
			}
		}
		if !strings.Contains(report, "**CNI ADD**") {
			t.Error("report lost our CNI rows")
		}
	})
}

// TestReportFromCommitted redraws the committed report's results, which
// may come from an older harness: missing sections or figures must leave
// parts out, not fail.
func TestReportFromCommitted(t *testing.T) {
	res, err := readResults("../../bench/results.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeReport(res, t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

// TestFold: a negative part goes into the next one (the one before, for
// the last); the sum stays.
func TestFold(t *testing.T) {
	for _, c := range []struct{ in, want [3]float64 }{
		{[3]float64{1, 2, 3}, [3]float64{1, 2, 3}},
		{[3]float64{1, -0.5, 3}, [3]float64{1, 0, 2.5}},
		{[3]float64{-0.5, 2, 3}, [3]float64{0, 1.5, 3}},
		{[3]float64{0.2, -0.5, 3}, [3]float64{0.2, 0, 2.5}},
		{[3]float64{1, 2, -0.5}, [3]float64{1, 1.5, 0}},
	} {
		got := c.in
		fold(&got[0], &got[1], &got[2])
		for i := range got {
			if d := got[i] - c.want[i]; d > 1e-9 || d < -1e-9 {
				t.Errorf("fold(%v) = %v, want %v", c.in, got, c.want)
				break
			}
		}
	}
}

// TestReportPartial renders the report of a run limited to one section
// (BENCH_SECTIONS): the others' parts are left out, and nothing in the
// template lacks a value.
func TestReportPartial(t *testing.T) {
	full := synthetic()
	for _, keep := range []string{"fresh", "reapply", "scale", "datapath", "memory", "gobench", "front"} {
		t.Run(keep, func(t *testing.T) {
			r := *full
			if keep != "fresh" {
				r.Fresh, r.FreshBlocks = nil, nil
			}
			if keep != "reapply" {
				r.Reapply = nil
			}
			if keep != "scale" {
				r.Scale = nil
			}
			if keep != "datapath" {
				r.Datapath = nil
			}
			if keep != "memory" {
				r.Memory = nil
			}
			if keep != "gobench" {
				r.GoBench = nil
			}
			if keep != "front" {
				r.FrontEnds, r.FrontEndsMissing, r.FrontEndRows = nil, nil, nil
			}
			renderChecked(t, &r)
		})
	}
}

package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Section 1: whole-process fresh apply, each run `unshare -n CMD` (a new
// namespace per run), timed from outside, floor subtracted in the report.
func (r *runner) sectionFresh() error {
	goFloor := filepath.Join(r.tmp, "gofloor")
	// The bench runs from the repository root, like make build.
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", goFloor, "./internal/bench/gofloor")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build internal/bench/gofloor: %w: %s", err, out)
	}
	fast, slow := r.p.FreshRuns, r.p.FreshSlowRuns
	cmds := []timedCmd{
		{key: "floor", label: "(d) floor: `unshare -n true`", argv: []string{"true"}, runs: fast},
		{key: "ours", label: "(a) `bin/proxy-init " + cmdline(r.base) + "`", argv: append([]string{r.bin}, r.base...), runs: fast},
		{key: "nft", label: "(b) `nft -f` of the `--simulate` text (with its replace idiom)", argv: []string{"nft", "-f", r.idiomFile}, runs: fast},
		{key: "nft-plain", label: "(b') `nft -f` of the same text without the idiom lines (plain load)", argv: []string{"nft", "-f", r.plainFile}, runs: fast},
		{key: "iptables", label: "(c) `hack/iptables-reference.sh " + cmdline(r.base) + "`", argv: append([]string{r.ref}, r.base...), runs: slow},
		{key: "gofloor", label: "(e) an empty Go program, built like ours (`internal/bench/gofloor`)", argv: []string{goFloor}, runs: fast},
		{key: "sim", label: "(f) `bin/proxy-init --simulate " + cmdline(r.base) + "`: start, parse, plan, render; no netlink", argv: append([]string{r.bin, "--simulate"}, r.base...), runs: fast},
	}
	// What runs just before a command matters at this scale (its caches,
	// the kernel tearing down the previous namespace), so hyperfine's
	// back-to-back blocks, where a command follows itself, are measured
	// too and reported beside these.
	samples, err := r.interleave(cmds)
	if err != nil {
		return err
	}
	logf("   floor %.2f ms, ours %.2f ms, nft %.2f ms, nft plain %.2f ms, iptables %.1f ms",
		samples[0].Median(), samples[1].Median(), samples[2].Median(), samples[3].Median(), samples[4].Median())
	r.res.Fresh = samples

	// The cross-check: hyperfine, in back-to-back blocks of one command.
	if _, err := exec.LookPath("hyperfine"); err != nil {
		r.note("hyperfine not found: section 1 has no back-to-back cross-check")
		return nil
	}
	rounds, block := r.p.BlockRounds, r.p.BlockRuns
	blocks := make([]Sample, 4)
	argvs := make([][]string, len(blocks))
	for i := range blocks {
		blocks[i] = Sample{Key: cmds[i].key, Label: cmds[i].label}
		argvs[i] = cmds[i].argv
	}
	for range rounds {
		times, err := r.hyperfine(argvs, block)
		if err != nil {
			return err
		}
		for i := range blocks {
			blocks[i].MS = append(blocks[i].MS, times[i]...)
		}
	}
	logf("   hyperfine blocks: floor %.2f ms, ours %.2f ms, nft %.2f ms, nft plain %.2f ms",
		blocks[0].Median(), blocks[1].Median(), blocks[2].Median(), blocks[3].Median())
	r.res.FreshBlocks = blocks
	return nil
}

// hyperfine times `unshare -n ARGV` for each argv, n runs each; it returns
// milliseconds per command.
func (r *runner) hyperfine(argvs [][]string, n int) ([][]float64, error) {
	js := filepath.Join(r.tmp, "hyperfine.json")
	args := []string{"-N", "--style", "none", "--warmup", strconv.Itoa(r.p.BlockWarmup), "--runs", strconv.Itoa(n), "--export-json", js}
	for _, a := range argvs {
		for _, w := range a {
			if strings.ContainsAny(w, " \t'\"") {
				return nil, fmt.Errorf("argument %q needs quoting, which hyperfine -N does not do", w)
			}
		}
		args = append(args, "unshare -n "+cmdline(a))
	}
	cmd := exec.Command("hyperfine", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("hyperfine: %w: %s", err, tail(stderr.Bytes()))
	}
	b, err := os.ReadFile(js)
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []struct {
			Times []float64 `json:"times"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(argvs) {
		return nil, fmt.Errorf("hyperfine returned %d results for %d commands", len(out.Results), len(argvs))
	}
	res := make([][]float64, len(argvs))
	for i, x := range out.Results {
		for _, t := range x.Times {
			res[i] = append(res[i], t*1e3)
		}
	}
	return res, nil
}

// timedCmd is one command of an interleaved comparison: whole process,
// `unshare -n ARGV` per run.
type timedCmd struct {
	key, label string
	argv       []string
	runs       int
	// env is added to the command's environment; stdin, a file, is fed to
	// it (default: /dev/null).
	env   []string
	stdin string
}

// interleave runs every command once untimed, to check that it works and
// count the transactions it commits, then times them all interleaved (see
// timeInterleaved), so that drifts in a shared machine's load fall on every
// command alike. The samples are in the order of cmds.
func (r *runner) interleave(cmds []timedCmd) ([]Sample, error) {
	samples := make([]Sample, len(cmds))
	for i, c := range cmds {
		check := Sample{Label: c.label}
		if !r.measure(&check, childSpec{Time: c.argv, Env: c.env, Stdin: c.stdin, Timeout: r.p.RunTimeout}) {
			return nil, fmt.Errorf("%s: failed (%s), or timed out", cmdline(c.argv), check.Err)
		}
		samples[i] = Sample{Key: c.key, Label: c.label, Gen: check.Gen}
	}
	times, err := timeInterleaved(cmds, r.p.FreshWarmup, func(pass, passes int) {
		if passes >= 10 && (pass+1)%(passes/5) == 0 {
			logf("   pass %d/%d", pass+1, passes)
		}
	})
	if err != nil {
		return nil, err
	}
	for i := range samples {
		samples[i].MS = times[i]
	}
	return samples, nil
}

// timeInterleaved times `unshare -n ARGV` for every command, its runs
// times, from fork to the end of wait, with output discarded. Every pass
// runs the commands in a new random order; a command with fewer runs takes
// part in passes spread evenly over the whole measurement. The first warmup
// passes are not counted.
func timeInterleaved(cmds []timedCmd, warmup int, progress func(pass, passes int)) ([][]float64, error) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	run := func(c timedCmd) (float64, error) {
		a := c.argv
		attr := &syscall.ProcAttr{Env: append(os.Environ(), c.env...), Files: []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()}}
		if c.stdin != "" {
			in, err := os.Open(c.stdin) // before the clock starts
			if err != nil {
				return 0, err
			}
			defer in.Close()
			attr.Files[0] = in.Fd()
		}
		argv := append([]string{"unshare", "-n"}, a...)
		start := time.Now()
		pid, err := syscall.ForkExec(unshare, argv, attr)
		if err != nil {
			return 0, fmt.Errorf("unshare -n %s: %w", cmdline(a), err)
		}
		var ws syscall.WaitStatus
		for {
			_, err = syscall.Wait4(pid, &ws, 0, nil)
			if err != syscall.EINTR {
				break
			}
		}
		if err != nil {
			return 0, fmt.Errorf("unshare -n %s: wait: %w", cmdline(a), err)
		}
		took := time.Since(start)
		switch {
		case ws.Signaled():
			return 0, fmt.Errorf("unshare -n %s: killed by %v", cmdline(a), ws.Signal())
		case ws.ExitStatus() != 0:
			return 0, fmt.Errorf("unshare -n %s: exit status %d", cmdline(a), ws.ExitStatus())
		}
		return float64(took.Nanoseconds()) / 1e6, nil
	}
	passes := 0
	for _, c := range cmds {
		passes = max(passes, c.runs)
	}
	res := make([][]float64, len(cmds))
	for pass := -warmup; pass < passes; pass++ {
		for _, i := range rand.Perm(len(cmds)) {
			// Run i takes part in this pass if its share of the passes
			// crosses a whole number here (always, during warm-up).
			if n := cmds[i].runs; pass >= 0 && pass*n/passes == (pass+1)*n/passes {
				continue
			}
			ms, err := run(cmds[i])
			if err != nil {
				return nil, err
			}
			if pass >= 0 {
				res[i] = append(res[i], ms)
			}
		}
		if pass >= 0 && progress != nil {
			progress(pass, passes)
		}
	}
	return res, nil
}

// Section 2: re-apply onto an existing install. Each run is a new namespace
// in which the bench child first installs (untimed) and then times the second
// apply with the monotonic clock, from fork to exit. The fresh rows are timed
// the same way, so the two compare directly; the floor row is `true`.
func (r *runner) sectionReapply() error {
	changed := changedFlags
	chIdiom, _, err := r.simulate("changed", changed)
	if err != nil {
		return err
	}
	ours := func(f []string) []string { return append([]string{r.bin}, f...) }
	ref := func(f []string) []string { return append([]string{r.ref}, f...) }
	nftI := []string{"nft", "-f", r.idiomFile}
	to := r.p.RunTimeout
	rows := []struct {
		key, label string
		spec       childSpec
	}{
		{"floor", "floor: exec `true`", childSpec{Time: []string{"true"}}},
		{"sim", "ours `--simulate` (process start, plan, render; no netlink)", childSpec{Time: ours(append([]string{"--simulate"}, r.base...))}},
		{"fresh-ours", "fresh: ours", childSpec{Time: ours(r.base)}},
		{"fresh-nft", "fresh: `nft -f` (replace idiom)", childSpec{Time: nftI}},
		{"fresh-nft-plain", "fresh: `nft -f` (plain load)", childSpec{Time: []string{"nft", "-f", r.plainFile}}},
		{"fresh-iptables", "fresh: iptables-nft script", childSpec{Time: ref(r.base)}},
		{"same-ours", "re-apply, same config: ours", childSpec{Setup: [][]string{ours(r.base)}, Time: ours(r.base)}},
		{"verify-ours", "for comparison: ours `verify` on the same install (reads and compares, sends no batch)", childSpec{Setup: [][]string{ours(r.base)}, Time: ours(append([]string{"verify"}, r.base...))}},
		{"same-nft", "re-apply, same config: `nft -f` (replace idiom)", childSpec{Setup: [][]string{nftI}, Time: nftI}},
		{"same-iptables", "re-apply, same config: iptables-nft script", childSpec{Setup: [][]string{ref(r.base)}, Time: ref(r.base)}},
		{"chg-ours", "re-apply, changed config: ours", childSpec{Setup: [][]string{ours(r.base)}, Time: ours(changed)}},
		{"chg-nft", "re-apply, changed config: `nft -f` (replace idiom)", childSpec{Setup: [][]string{nftI}, Time: []string{"nft", "-f", chIdiom}}},
		{"chg-iptables", "re-apply, changed config: iptables-nft script", childSpec{Setup: [][]string{ref(r.base)}, Time: ref(changed)}},
	}
	samples := make([]Sample, len(rows))
	for i := range rows {
		samples[i] = Sample{Key: rows[i].key, Label: rows[i].label}
		rows[i].spec.Timeout = to
	}
	n := r.p.ReapplyRuns
	for k := range n {
		for i := range rows {
			r.measure(&samples[i], rows[i].spec)
		}
		if (k+1)%25 == 0 || k+1 == n {
			logf("   %d/%d runs: same-config ours %.2f ms vs nft %.2f ms; changed-config ours %.2f ms vs nft %.2f ms", k+1, n,
				find(samples, "same-ours").Median(), find(samples, "same-nft").Median(), find(samples, "chg-ours").Median(), find(samples, "chg-nft").Median())
		}
	}
	r.res.Reapply = samples
	return nil
}

// Section 3: apply time against list size, in a fresh namespace per run,
// timed inside it. Each run of ours and of nft is checked afterwards with
// `proxy-init verify` (the live ruleset equals the plan).
func (r *runner) sectionScale() error {
	type pt struct {
		label string
		x     int
		items []string
	}
	axes := []struct {
		axis, flag string
		points     []pt
	}{
		{"ports", "--inbound-ports-to-ignore", []pt{
			{"0", 0, nil}, {"16", 16, portEntries(16)}, {"256", 256, portEntries(256)}, {"4096", 4096, portEntries(4096)},
			{"65536: every other port", 32768, everyOtherPort()},
		}},
		{"subnets", "--subnets-to-ignore", []pt{
			{"0", 0, nil}, {"16", 16, subnetEntries(16)}, {"256", 256, subnetEntries(256)}, {"4096", 4096, subnetEntries(4096)},
		}},
	}
	to := r.p.IptLimit
	for _, ax := range axes {
		series := Series{Axis: ax.axis}
		stopped := ""
		for _, p := range ax.points {
			flags := listFlag(ax.flag, p.items)
			_, plain, err := r.simulate(fmt.Sprintf("%s-%d", ax.axis, p.x), flags)
			if err != nil {
				return err
			}
			verify := append([]string{r.bin, "verify"}, flags...)
			ours := Sample{Key: "ours", Label: "ours"}
			nft := Sample{Key: "nft", Label: "nft -f (plain load)"}
			ipt := Sample{Key: "iptables", Label: "iptables-nft script"}
			stub := Sample{Key: "iptables-stub", Label: "the script with iptables stubbed out"}
			oursSpec := childSpec{Time: append([]string{r.bin}, flags...), Post: [][]string{verify}, Timeout: to}
			nftSpec := childSpec{Time: []string{"nft", "-f", plain}, Post: [][]string{verify}, Timeout: to}
			iptSpec := childSpec{Time: append([]string{r.ref}, flags...), Timeout: to}
			n := r.p.scaleRuns(p.x)
			iptN := n
			for k := range n {
				r.measure(&ours, oursSpec)
				r.measure(&nft, nftSpec)
				switch {
				case stopped != "":
					ipt.Skipped = stopped
				case k < iptN:
					r.measure(&ipt, iptSpec)
					if k > 0 {
						break
					}
					if ipt.TimedOut {
						stopped = fmt.Sprintf("not run: the series stopped at %s, whose run took over %s", p.label, r.p.IptLimit)
						r.note("iptables-nft, %s axis: the run at %s was killed after %s; larger points were not run.", ax.axis, p.label, r.p.IptLimit)
					} else if ipt.ok() {
						// Big points: as many runs as fit in the budget.
						iptN = max(1, min(n, int(float64(r.p.IptBudget.Milliseconds())/ipt.MS[0])))
					}
				}
			}
			if ipt.ok() || ipt.TimedOut {
				// Also where the real script was killed: is it iptables-nft
				// or the script's own parsing that takes so long?
				r.measure(&stub, childSpec{Time: iptSpec.Time, Env: []string{r.stubPATH}, Timeout: to})
			} else {
				stub.Skipped = "the real script did not complete"
			}
			logf("   %s %s: ours %.1f ms, nft %.1f ms, iptables %s", ax.axis, p.label, ours.Median(), nft.Median(), msOrWhy(&ipt))
			series.Points = append(series.Points, Point{Label: p.label, X: p.x, Samples: []Sample{ours, nft, ipt, stub}})
		}
		r.res.Scale = append(r.res.Scale, series)
	}
	return nil
}

func msOrWhy(s *Sample) string {
	switch {
	case s.TimedOut:
		return killedAfter(s)
	case s.Skipped != "":
		return "skipped"
	case s.Err != "":
		return "error"
	}
	return fmt.Sprintf("%.1f ms", s.Median())
}

// Section 5: peak resident memory of one apply, from GNU time -v, and the
// binary's size.
func (r *runner) sectionMemory() error {
	everyOther := listFlag("--inbound-ports-to-ignore", everyOtherPort())
	_, portsPlain, err := r.simulate("mem-ports", everyOther)
	if err != nil {
		return err
	}
	cfgs := []struct {
		key, label string
		argv       []string
	}{
		{"ours-default", "ours, section 1 configuration", append([]string{r.bin}, r.base...)},
		{"ours-ports", "ours, every other port ignored (32768 intervals per family)", append([]string{r.bin}, everyOther...)},
		{"ours-subnets", "ours, 4096 subnets per family", append([]string{r.bin}, listFlag("--subnets-to-ignore", subnetEntries(4096))...)},
		{"nft-default", "`nft -f` (plain), section 1 configuration", []string{"nft", "-f", r.plainFile}},
		{"nft-ports", "`nft -f` (plain), every other port ignored", []string{"nft", "-f", portsPlain}},
		{"iptables-default", "iptables-nft script, section 1 configuration (its largest process)", append([]string{r.ref}, r.base...)},
	}
	gnuTime := "/usr/bin/time"
	if _, err := os.Stat(gnuTime); err != nil {
		gnuTime = ""
		r.note("GNU time was not found: peak RSS was read from wait4's rusage by the bench tool itself (the figure GNU time prints).")
	}
	samples := make([]Sample, len(cfgs))
	for i := range cfgs {
		samples[i] = Sample{Key: cfgs[i].key, Label: cfgs[i].label}
	}
	for range r.p.MemRuns {
		for i, c := range cfgs {
			if samples[i].Err != "" {
				continue
			}
			kib, err := maxRSS(gnuTime, c.argv)
			if err != nil {
				samples[i].Err = err.Error()
				continue
			}
			samples[i].MS = append(samples[i].MS, float64(kib))
		}
	}
	r.res.Memory = samples

	st, err := os.Stat(r.bin)
	if err != nil {
		return err
	}
	r.res.Binary = Binary{Path: "bin/proxy-init", Bytes: st.Size(), Static: isStatic(r.bin)}
	return nil
}

var maxRSSRE = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)

func maxRSS(gnuTime string, argv []string) (int64, error) {
	full := append([]string{"unshare", "-n"}, argv...)
	if gnuTime == "" {
		cmd := exec.Command(full[0], full[1:]...)
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%s: %w", short(full), err)
		}
		return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss, nil
	}
	cmd := exec.Command(gnuTime, append([]string{"-v"}, full...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s: %w: %s", short(full), err, tail(stderr.Bytes()))
	}
	m := maxRSSRE.FindSubmatch(stderr.Bytes())
	if m == nil {
		return 0, errors.New("no maximum resident set size in the output of time -v")
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

// isStatic: no program interpreter, no shared libraries.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return false
		}
	}
	return true
}

// Section 6: the Go benchmarks of nat and its packages (the plan is pure,
// the batch building may live in a package of its own).
func (r *runner) sectionGoBench() error {
	count, benchtime := strconv.Itoa(r.p.GoBenchCount), r.p.GoBenchTime.String()
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", count, "-benchtime", benchtime, goBenchPkgs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go test -bench: %w: %s%s", err, tail(out), tail(stderr.Bytes()))
	}
	r.res.GoBench = parseGoBench(out)
	if len(r.res.GoBench) == 0 {
		return fmt.Errorf("go test -bench printed no benchmark lines: %s", tail(out))
	}
	if m := regexp.MustCompile(`(?m)^cpu: (.+)$`).FindSubmatch(out); m != nil && r.res.Machine.CPU == "" {
		r.res.Machine.CPU = string(m[1])
	}
	return nil
}

// goBenchPkgs are the packages section 6 benchmarks.
const goBenchPkgs = "./nat/..."

var gomaxprocsSuffix = regexp.MustCompile(`-\d+$`)

func parseGoBench(out []byte) []GoBench {
	var res []GoBench
	idx := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := gomaxprocsSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		i, ok := idx[name]
		if !ok {
			i = len(res)
			idx[name] = i
			res = append(res, GoBench{Name: name, Values: map[string][]float64{}})
		}
		for j := 2; j+1 < len(f); j += 2 {
			v, err := strconv.ParseFloat(f[j], 64)
			if err != nil {
				continue
			}
			res[i].Values[f[j+1]] = append(res[i].Values[f[j+1]], v)
		}
	}
	return res
}

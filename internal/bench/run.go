package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// The configuration of sections 1, 2, 5 and 7 (the seed's defaults plus
// the admin ports Linkerd ignores), and section 2's changed one.
var (
	baseFlags    = []string{"--inbound-ports-to-ignore", "4190,4191"}
	changedFlags = []string{"--inbound-ports-to-ignore", "4190,4191,9090"}
)

// runner holds what every section needs.
type runner struct {
	bin, ref  string // absolute paths of bin/proxy-init and the reference script
	out, tmp  string
	self      string
	p         Params
	res       *Results
	base      []string // the section 1 configuration's flags
	idiomFile string   // --simulate output for base
	plainFile string   // the same without the replace idiom
	stubPATH  string   // a PATH whose iptables binaries do nothing
	cleanups  []func()
	// validatePod is section 7's pod namespace for validate.
	validatePod string
	// cni is what section 7's CNI rows share.
	cni cniState
}

func cmdRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	bin := fs.String("bin", "bin/proxy-init", "proxy-init binary")
	ref := fs.String("ref", "hack/iptables-reference.sh", "iptables-nft reference installer")
	out := fs.String("out", "bench", "directory for REPORT.md, charts and results.json")
	quick := fs.Bool("quick", false, "few repetitions: a smoke test of the harness, not figures to publish")
	sections := fs.String("sections", "1,2,3,4,5,6,7,8", "sections to run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces and nf_tables)")
	}
	r := &runner{p: params(*quick), out: *out}
	var err error
	for _, p := range []struct {
		dst *string
		src string
	}{{&r.bin, *bin}, {&r.ref, *ref}} {
		if *p.dst, err = filepath.Abs(p.src); err != nil {
			return err
		}
		if _, err := os.Stat(*p.dst); err != nil {
			return err
		}
	}
	if r.self, err = os.Executable(); err != nil {
		return err
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return err
	}
	if r.tmp, err = os.MkdirTemp("", "proxy-init-bench-"); err != nil {
		return err
	}
	r.cleanups = append(r.cleanups, func() { os.RemoveAll(r.tmp) })
	defer r.cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		logf("%v: cleaning up", s)
		r.cleanup()
		os.Exit(130)
	}()

	r.res = &Results{Started: time.Now(), Quick: *quick, Params: r.p}
	r.res.Machine = machine()
	r.base = baseFlags
	r.res.Base, r.res.Changed = baseFlags, changedFlags
	if r.idiomFile, r.plainFile, err = r.simulate("base", r.base); err != nil {
		return err
	}
	if err := r.makeStubs(); err != nil {
		return err
	}

	for _, s := range []struct {
		id, name string
		fn       func() error
	}{
		{"1", "fresh apply", r.sectionFresh},
		{"2", "re-apply", r.sectionReapply},
		{"3", "scale", r.sectionScale},
		{"4", "datapath", r.sectionDatapath},
		{"5", "memory and size", r.sectionMemory},
		{"6", "go benchmarks", r.sectionGoBench},
		{"7", "front ends", r.sectionFrontEnds},
		{"8", "CNI installer", r.sectionInstaller},
	} {
		if !strings.Contains(","+*sections+",", ","+s.id+",") {
			continue
		}
		logf("== section %s: %s", s.id, s.name)
		start := time.Now()
		if err := s.fn(); err != nil {
			logf("section %s failed: %v", s.id, err)
			r.res.Errors = append(r.res.Errors, fmt.Sprintf("section %s (%s): %v", s.id, s.name, err))
		}
		r.res.Sections = append(r.res.Sections, TimeSpent{s.name, Duration{time.Since(start).Round(time.Second)}})
		logf("   took %s", time.Since(start).Round(time.Second))
	}
	r.res.Finished = time.Now()
	r.res.Elapsed = Duration{r.res.Finished.Sub(r.res.Started).Round(time.Second)}
	r.res.Machine.LoadAfter = loadavg()
	if err := writeJSON(filepath.Join(r.out, "results.json"), r.res); err != nil {
		return err
	}
	return writeReport(r.res, r.out)
}

func (r *runner) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// simulate writes what `proxy-init --simulate` prints for the flags (the
// replace idiom: each table declared, deleted, then declared with its
// content), and the same text without the idiom's lines: a plain load of the
// same ruleset into an empty namespace.
func (r *runner) simulate(name string, flags []string) (idiom, plain string, err error) {
	out, err := exec.Command(r.bin, append([]string{"--simulate"}, flags...)...).Output()
	if err != nil {
		return "", "", fmt.Errorf("%s --simulate: %w", r.bin, err)
	}
	idiom = filepath.Join(r.tmp, name+".nft")
	plain = filepath.Join(r.tmp, name+"-plain.nft")
	if err := os.WriteFile(idiom, out, 0o644); err != nil {
		return "", "", err
	}
	stripped := idiomLine.ReplaceAll(out, nil)
	if bytes.Equal(stripped, out) {
		return "", "", errors.New("--simulate output has no replace idiom lines to strip; update internal/bench")
	}
	return idiom, plain, os.WriteFile(plain, stripped, 0o644)
}

var idiomLine = regexp.MustCompile(`(?m)^(table (ip|ip6|inet) \S+|delete table (ip|ip6|inet) \S+)\n`)

// makeStubs makes a directory whose iptables-nft, ip6tables-nft and their
// -save commands do nothing, to time the reference script's own work.
func (r *runner) makeStubs() error {
	dir := filepath.Join(r.tmp, "stubs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		return err
	}
	for _, n := range []string{"iptables-nft", "ip6tables-nft", "iptables-nft-save", "ip6tables-nft-save"} {
		if err := os.Symlink(truePath, filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	r.stubPATH = "PATH=" + dir + ":" + os.Getenv("PATH")
	return nil
}

// nsRun runs one childSpec in a new network namespace.
func (r *runner) nsRun(spec childSpec) (childResult, error) {
	return r.runChildCmd(exec.Command("unshare", "-n", r.self, "child"), spec)
}

// runChildCmd runs the bench child as cmd (in a new namespace, or entering
// one by path) with the spec on its stdin, and reads its answer.
func (r *runner) runChildCmd(cmd *exec.Cmd, spec childSpec) (childResult, error) {
	in, err := json.Marshal(spec)
	if err != nil {
		return childResult{}, err
	}
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return childResult{}, fmt.Errorf("%s: %w: %s", cmdline(cmd.Args[:len(cmd.Args)-1]), err, tail(stderr.Bytes()))
	}
	var res childResult
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("child answer %q: %w", out, err)
	}
	return res, nil
}

// measure runs spec once more for the sample, in a new namespace, and
// records the result; false if the sample is now failed (error or
// time-out).
func (r *runner) measure(s *Sample, spec childSpec) bool {
	return r.measureIn(s, "", spec)
}

// measureIn is measure in the namespace at path ns ("" for a new one each
// run): for a command that needs what lives there, such as a server.
func (r *runner) measureIn(s *Sample, ns string, spec childSpec) bool {
	if s.Err != "" || s.TimedOut {
		return false
	}
	run := r.nsRun
	if ns != "" {
		run = func(spec childSpec) (childResult, error) {
			return r.runChildCmd(exec.Command("nsenter", "--net="+ns, r.self, "child"), spec)
		}
	}
	res, err := run(spec)
	switch {
	case err != nil:
		s.Err = err.Error()
	case res.TimedOut:
		s.TimedOut = true
		s.MS = append(s.MS, float64(res.NS)/1e6)
	case res.Err != "":
		s.Err = res.Err
	case res.Exit != 0:
		s.Err = fmt.Sprintf("exit %d: %s", res.Exit, res.Stderr)
	default:
		s.MS = append(s.MS, float64(res.NS)/1e6)
		s.Gen = append(s.Gen, int(res.GenAfter-res.GenBefore))
		return true
	}
	if s.Err != "" {
		logf("   %s: %s", s.Label, s.Err)
	}
	return false
}

func cmdline(argv []string) string { return strings.Join(argv, " ") }

func (r *runner) note(format string, a ...any) {
	r.res.Notes = append(r.res.Notes, fmt.Sprintf(format, a...))
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadBefore: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if mm := regexp.MustCompile(`(?m)^model name\s*:\s*(.+)$`).FindSubmatch(b); mm != nil {
			m.CPU = string(mm[1])
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if mm := regexp.MustCompile(`(?m)^MemTotal:\s*(\d+) kB`).FindSubmatch(b); mm != nil {
			var kb int64
			fmt.Sscan(string(mm[1]), &kb)
			m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = cstr(u.Release[:])
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		if mm := regexp.MustCompile(`(?m)^PRETTY_NAME="?([^"\n]+)`).FindSubmatch(b); mm != nil {
			m.OS = string(mm[1])
		}
	}
	m.Nft = firstLine("nft", "--version")
	m.Iptables = firstLine("iptables-nft", "--version")
	m.Hyperfine = firstLine("hyperfine", "--version")
	m.Commit = firstLine("git", "log", "-1", "--format=%h %s")
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", "nat", "cmd", "internal").Output(); err == nil && changedProduct(string(st)) {
		m.Commit += " (plus uncommitted changes in nat/, cmd/ or internal/)"
	}
	return m
}

func cstr(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "not found"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// changedProduct says whether `git status --porcelain` lists a change to
// product code (test files do not change the binary).
func changedProduct(status string) bool {
	for _, l := range strings.Split(status, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasSuffix(l, "_test.go") {
			return true
		}
	}
	return false
}

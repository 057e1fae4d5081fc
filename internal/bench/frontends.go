package main

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"

	"github.com/proxy-init/netlink-native/internal/topology"
)

// Section 7: the front ends other than the init container's apply, each
// one whole process timed inside a fresh namespace by the bench child (as
// in section 2: setup untimed, no namespace creation in the figure), beside
// the same timer's floor and a fresh apply.
//
// A front end is one entry of frontEnds: a probe (is it in this build?),
// what its rows share (prepare: say a namespace with a server in it, undone
// by r.cleanups) and its rows. The report prints every row of the section in one table
// and a paragraph per front end (report.md.tmpl, section 7), keyed by the
// front end's key. A front end may live in a file of its own that appends
// itself to frontEnds (frontends_cni.go does).
type frontEnd struct {
	key, name string
	// probe says why the front end cannot be measured, "" when it can.
	probe   func(r *runner) string
	prepare func(r *runner) error // may be nil
	rows    func(r *runner) []frontRow
}

type frontRow struct {
	key, label string
	spec       childSpec
	// ns is the named namespace the child runs in; "" for a new one per
	// run.
	ns string
}

// validateTarget is on the pod's link (internal/topology's 192.0.2.0/24:
// pod .2, peer .1) and held by nobody: only the redirect can answer a
// connection to it.
const validateTarget = "192.0.2.9:1404"

// explainConn is the connection explain is asked about: inbound, from a
// peer in none of the ignored subnets, to a port in none of the ignored
// ranges, so it walks every rule to the redirect.
var explainConn = []string{"--inbound", "--from", "192.0.2.1:40000", "--to", "192.0.2.2:8080"}

var frontEnds = []frontEnd{
	{
		key: "validate", name: "`proxy-init validate` (the network validator)",
		probe: func(r *runner) string { return r.hasCommand("validate") },
		// One pod, its rules installed once: validate changes nothing.
		prepare: func(r *runner) error {
			tp, err := topology.Create()
			if err != nil {
				return err
			}
			r.cleanups = append(r.cleanups, func() { _ = tp.Close() })
			install := append([]string{r.bin, "--netns", tp.PodPath()}, r.base...)
			if out, err := exec.Command(install[0], install[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %w: %s", short(install), err, out)
			}
			r.validatePod = tp.PodPath()
			return nil
		},
		rows: func(r *runner) []frontRow {
			return []frontRow{{key: "validate", label: "`proxy-init validate --connect-addr " + validateTarget + "` in a pod with the section 1 rules",
				ns: r.validatePod, spec: childSpec{Time: []string{r.bin, "validate", "--connect-addr", validateTarget}}}}
		},
	},
	{
		key: "explain", name: "`proxy-init explain` on the largest configuration",
		probe: func(r *runner) string { return r.hasCommand("explain") },
		rows: func(r *runner) []frontRow {
			big := largestFlags()
			ours := func(args ...string) []string { return append(append([]string{r.bin}, args...), big...) }
			return []frontRow{
				{key: "explain-sim", label: "`proxy-init explain --simulate`: the plan of the flags, no netlink",
					spec: childSpec{Time: ours(append([]string{"explain", "--simulate"}, explainConn...)...)}},
				{key: "explain-live", label: "`proxy-init explain` on the live rules (the install is the same configuration)",
					spec: childSpec{Setup: [][]string{ours()}, Time: ours(append([]string{"explain"}, explainConn...)...)}},
				{key: "verify-live", label: "for comparison: `proxy-init verify` on the same install (reads and compares)",
					spec: childSpec{Setup: [][]string{ours()}, Time: ours("verify")}},
			}
		},
	},
}

// largestFlags is the largest configuration of section 3's two axes at
// once: every other port ignored (32768 intervals per family) and 4096
// subnets per family.
func largestFlags() []string {
	return append(listFlag("--inbound-ports-to-ignore", everyOtherPort()), listFlag("--subnets-to-ignore", subnetEntries(4096))...)
}

// hasCommand says why bin/proxy-init has no such command word, "" if it
// has: the help lists each command first on its line.
func (r *runner) hasCommand(word string) string {
	out, err := exec.Command(r.bin, "help").Output()
	if err != nil {
		return fmt.Sprintf("%s help: %v", r.bin, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == word && strings.HasPrefix(l, "  ") {
			return ""
		}
	}
	return "bin/proxy-init has no `" + word + "` command"
}

func (r *runner) sectionFrontEnds() error {
	rows := []frontRow{
		{key: "floor", label: "floor: exec `true`", spec: childSpec{Time: []string{"true"}}},
		{key: "apply", label: "for comparison: a fresh apply, section 1 configuration", spec: childSpec{Time: append([]string{r.bin}, r.base...)}},
	}
	for _, f := range frontEnds {
		if why := f.probe(r); why != "" {
			r.res.FrontEndsMissing = append(r.res.FrontEndsMissing, fmt.Sprintf("%s: not measured in this run: %s", f.name, why))
			continue
		}
		if f.prepare != nil {
			if err := f.prepare(r); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
		}
		r.res.FrontEnds = append(r.res.FrontEnds, f.key)
		rows = append(rows, f.rows(r)...)
	}
	samples := make([]Sample, len(rows))
	for i := range rows {
		samples[i] = Sample{Key: rows[i].key, Label: rows[i].label}
		rows[i].spec.Timeout = r.p.RunTimeout
	}
	for k := range r.p.FrontEndRuns {
		// A new order every pass, as section 1 does: a row that follows
		// the largest configuration's explain and verify pays for what
		// the kernel is still tearing down after them (the meshed CNI ADD
		// measured 7 ms above its own loop there, in a fixed order), and
		// that cost must land on every row alike, ours and upstream's.
		for _, i := range rand.Perm(len(rows)) {
			r.measureIn(&samples[i], rows[i].ns, rows[i].spec)
		}
		if k+1 == r.p.FrontEndRuns {
			var parts []string
			for i := range samples {
				parts = append(parts, fmt.Sprintf("%s %.2f ms", samples[i].Key, samples[i].Median()))
			}
			logf("   %s", strings.Join(parts, ", "))
		}
	}
	r.res.FrontEndRows = samples
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/explain"
	"github.com/proxy-init/netlink-native/nat/pod"
	"github.com/spf13/pflag"
)

// viewOptions are the flags of explain, and show's --format. Their names
// cannot clash with the configuration flags, which explain takes too (to
// plan with --simulate, and to say how the live rules differ from them):
// -u is the proxy's uid and -o the outgoing proxy port.
type viewOptions struct {
	inbound, outbound bool
	from, to          string
	asUID, asGID      int64
	oif               string
	output            string
	format            string
}

// viewFlags are the flags addViewFlags declares, by the commands that
// take them; onlyFor refuses them elsewhere.
var viewFlags = map[string][]string{
	"explain": {"inbound", "outbound", "from", "to", "as-uid", "as-gid", "oif", "output", "format"},
	"show":    {"format"},
}

// addViewFlags declares explain's flags and show's --format. The command
// word may come anywhere on the line, so they are declared for every
// command before parsing, and onlyFor refuses them where they mean nothing.
func addViewFlags(fs *pflag.FlagSet) *viewOptions {
	v := &viewOptions{}
	fs.BoolVar(&v.inbound, "inbound", false, "explain: a connection arriving from the network (hook prerouting)")
	fs.BoolVar(&v.outbound, "outbound", false, "explain: a connection a process in the pod opens (hook output)")
	fs.StringVar(&v.from, "from", "", "explain: the connection's source ADDR[:PORT] (inbound: the remote peer)")
	fs.StringVar(&v.to, "to", "", "explain: the connection's destination ADDR:PORT")
	fs.Int64Var(&v.asUID, "as-uid", nat.NoID, "explain --outbound: uid of the sending process (-1: not given)")
	fs.Int64Var(&v.asGID, "as-gid", nat.NoID, "explain --outbound: gid of the sending process (-1: not given)")
	fs.StringVar(&v.oif, "oif", "", "explain --outbound: interface the connection leaves through (default: the namespace's route for --to; with --simulate, lo for a loopback destination, else not lo)")
	fs.StringVar(&v.output, "output", "text", "explain: text or json")
	fs.StringVar(&v.format, "format", "", "show: nft (default), mermaid or dot, drawing the chains; explain: mermaid or dot, with the connection's path (--simulate: the plan of the flags)")
	return v
}

// onlyFor refuses a view flag given to a command that does not take it.
func (v *viewOptions) onlyFor(cmd string, fs *pflag.FlagSet) error {
	for _, n := range viewFlags["explain"] {
		if fs.Changed(n) && !slices.Contains(viewFlags[cmd], n) {
			owner := "explain"
			if n == "format" {
				owner = "explain and show"
			}
			return &nat.ConfigError{Name: "--" + n, Value: fs.Lookup(n).Value.String(), Reason: "applies to " + owner + " only, not to " + cmd}
		}
	}
	return nil
}

// flow turns explain's flags into the connection to explain. Errors name
// the flag and the value, as the configuration's do.
func (v *viewOptions) flow() (explain.Flow, error) {
	f := explain.Flow{UID: v.asUID, GID: v.asGID, OIF: v.oif}
	switch {
	case v.inbound == v.outbound:
		return f, &nat.ConfigError{Name: "--inbound/--outbound", Value: fmt.Sprintf("%v/%v", v.inbound, v.outbound), Reason: "give exactly one of them"}
	case v.outbound:
		f.Direction = explain.Outbound
	}
	if v.to == "" {
		return f, &nat.ConfigError{Name: "--to", Value: "", Reason: "the destination ADDR:PORT is required, e.g. 10.0.0.5:8080 or [fd00::5]:8080"}
	}
	var err error
	if f.Dst, err = netip.ParseAddrPort(v.to); err != nil || f.Dst.Port() == 0 {
		return f, &nat.ConfigError{Name: "--to", Value: v.to, Reason: "must be ADDR:PORT with a port of 1-65535, e.g. 10.0.0.5:8080 or [fd00::5]:8080", Err: err}
	}
	if v.from != "" {
		if f.Src, err = netip.ParseAddrPort(v.from); err != nil {
			a, err2 := netip.ParseAddr(v.from)
			if err2 != nil {
				return f, &nat.ConfigError{Name: "--from", Value: v.from, Reason: "must be ADDR or ADDR:PORT", Err: err2}
			}
			f.Src = netip.AddrPortFrom(a, 0)
		}
		if f.Src.Addr().Is4In6() {
			// Checked here, not left to Flow.Validate, whose error names
			// no flag and would be reported as --to's.
			return f, &nat.ConfigError{Name: "--from", Value: v.from, Reason: "is an IPv4-mapped IPv6 address: give the IPv4 address"}
		}
		if f.Src.Addr().Is4() != f.Dst.Addr().Is4() {
			return f, &nat.ConfigError{Name: "--from", Value: v.from, Reason: "is not of the family of --to " + v.to}
		}
	}
	for _, id := range []struct {
		flag string
		v    int64
	}{{"--as-uid", v.asUID}, {"--as-gid", v.asGID}} {
		if id.v < nat.NoID || id.v > 1<<32-2 {
			return f, &nat.ConfigError{Name: id.flag, Value: fmt.Sprint(id.v), Reason: "must be -1 (not given) or an id between 0 and 4294967294"}
		}
		if id.v != nat.NoID && v.inbound {
			return f, &nat.ConfigError{Name: id.flag, Value: fmt.Sprint(id.v), Reason: "applies to --outbound only: an arriving packet has no local socket"}
		}
	}
	if v.oif != "" && v.inbound {
		return f, &nat.ConfigError{Name: "--oif", Value: v.oif, Reason: "applies to --outbound only: an arriving packet has no output interface at prerouting"}
	}
	if len(v.oif) > 15 {
		return f, &nat.ConfigError{Name: "--oif", Value: v.oif, Reason: "an interface name has at most 15 characters"}
	}
	return f, nil
}

func (v *viewOptions) check(cmd string) error {
	ok := v.format == "dot" || v.format == "mermaid" || (cmd == "show" && (v.format == "nft" || v.format == "")) || (cmd == "explain" && v.format == "")
	if !ok {
		return &nat.ConfigError{Name: "--format", Value: v.format, Reason: "must be mermaid or dot"}
	}
	if cmd == "explain" {
		switch {
		case v.output != "text" && v.output != "json":
			return &nat.ConfigError{Name: "--output", Value: v.output, Reason: "must be text or json"}
		case v.output == "json" && v.format != "":
			return &nat.ConfigError{Name: "--output", Value: v.output, Reason: "a diagram (--format " + v.format + ") has no json form"}
		}
	}
	return nil
}

// runShow is show: the listing in nft syntax, or with --format a diagram
// (with --simulate, of the flags' plan, touching nothing).
func runShow(e *env) int {
	if f := e.view.format; f == "" || f == "nft" {
		return showListing(e)
	}
	return runView("show", e)
}

func runExplain(e *env) int { return runView("explain", e) }

// runView runs explain, or show with a diagram format: one nat/pod
// operation that reads the live rules (or, with --simulate, plans the flags
// and touches nothing), then the pure evaluation and rendering.
func runView(cmd string, e *env) int {
	v := e.view
	if err := v.check(cmd); err != nil {
		return e.fail(err)
	}
	var flow *explain.Flow
	if cmd == "explain" {
		f, err := v.flow()
		if err != nil {
			return e.fail(err)
		}
		flow = &f
	}
	cfg, err := podConfig(e, cmd, true)
	if err != nil {
		return e.fail(err)
	}
	r, err := readView(e, cfg, flow)
	var fe *explain.FlowError
	if errors.As(err, &fe) {
		return e.fail(&nat.ConfigError{Name: "--to", Value: v.to, Reason: fe.Error(), Err: err})
	}
	if err != nil {
		return e.fail(err)
	}
	if cmd == "show" {
		fmt.Fprint(e.stdout, draw(r.rules, nil, v.format))
		return exitOK
	}
	if v.format != "" {
		fmt.Fprint(e.stdout, draw(r.rules, r.trace, v.format))
		return exitOK
	}
	var warnings []string
	for _, w := range r.warnings {
		warnings = append(warnings, w.Message)
	}
	if v.output == "json" {
		out := explainJSON{Trace: r.trace, Source: r.source, Diff: r.diff, Warnings: warnings}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return e.fail(fmt.Errorf("encode the explanation: %w", err))
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	writeExplanation(e.stdout, *flow, r.trace, r.source, r.diff, warnings)
	return exitOK
}

// view is what explain and show's diagrams draw from.
type view struct {
	rules  *nat.Ruleset
	source string // "live" or "plan" (--simulate)
	// explain only: the flow's trace, how the live rules differ from the
	// flags' plan, and the warnings to print.
	trace    *explain.Trace
	diff     string
	warnings []pod.Warning
}

// readView reads the rules to draw or explain flow over (nil: draw only):
// with --simulate the flags' plan, as apply --simulate computes it;
// otherwise the live rules, with for explain the route of an outbound flow
// without --oif.
func readView(e *env, cfg nat.Config, flow *explain.Flow) (*view, error) {
	if e.o.simulate {
		res, err := pod.Simulate(cfg, e.log)
		if err != nil {
			return nil, err
		}
		r := &view{rules: res.Plan, source: "plan", warnings: res.Warnings}
		if flow != nil {
			r.trace, err = explain.Explain(res.Plan, *flow)
		}
		return r, err
	}
	if flow == nil {
		live, err := pod.Show(context.Background(), e.target())
		return &view{rules: live, source: "live"}, err
	}
	res, err := pod.Inspect(context.Background(), e.target(), cfg, flow)
	if err != nil {
		return nil, err
	}
	return &view{rules: res.Live, source: "live", trace: res.Trace, diff: res.Changes.String(), warnings: res.Warnings}, nil
}

// explainJSON is explain's --output json: the trace's keys (verdict, port,
// decided_by, path, ...) and what was read besides it.
type explainJSON struct {
	*explain.Trace
	// Source is "live" (read from the kernel) or "plan" (--simulate).
	Source string `json:"source"`
	// Diff is the difference of the live rules from the flags' plan.
	Diff     string   `json:"diff,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

func draw(rs *nat.Ruleset, tr *explain.Trace, format string) string {
	if format == "dot" {
		return explain.Dot(rs, tr)
	}
	return explain.Mermaid(rs, tr)
}

// writeExplanation prints, in order: how the live rules differ from the
// flags, what else runs on the hook, the path rule by rule, what was
// assumed, and the outcome.
func writeExplanation(w io.Writer, f explain.Flow, tr *explain.Trace, source, diff string, warnings []string) {
	if diff != "" {
		fmt.Fprintf(w, "the live rules differ from the configuration of these flags (- configured, + live); explaining the live rules:\n%s\n", diff)
	}
	for _, m := range warnings {
		fmt.Fprintf(w, "warning: %s\n", m)
	}
	if len(tr.Others) > 0 {
		fmt.Fprintf(w, "other NAT chains on this hook (not evaluated):\n")
		for _, o := range tr.Others {
			fmt.Fprintf(w, "  table %s %s chain %s, hook %s priority %d: %s\n", o.Family, o.Table, o.Chain, o.Hook, o.Priority, o.Effect)
		}
	}
	from := "any source"
	if f.Src.Addr().IsValid() {
		from = f.Src.Addr().String()
		if f.Src.Port() != 0 {
			from = f.Src.String()
		}
	}
	rules := "live rules"
	if source == "plan" {
		rules = "--simulate: the plan of these flags"
	}
	fmt.Fprintf(w, "%s TCP %s -> %s, table %s (%s):\n", tr.Direction, from, f.Dst, tr.Table, rules)
	for _, s := range tr.Path {
		indent := strings.Repeat("  ", s.Depth+1)
		mark := "no match"
		if s.Matched {
			mark = "MATCH"
		}
		name := s.Comment
		if name == "" {
			name = "(not ours)"
		}
		fmt.Fprintf(w, "%s%s[%d] %s: %s\n%s    %s\n%s    because %s\n", indent, s.Chain, s.Index, name, mark, indent, s.Rule, indent, s.Reason)
	}
	for _, n := range tr.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	switch {
	case tr.Verdict == explain.VerdictDrop:
		fmt.Fprintf(w, "result: dropped, by %s\n", tr.DecidedBy)
	case tr.Redirected():
		fmt.Fprintf(w, "result: redirected to :%d by %s; the proxy sees the original destination %s (SO_ORIGINAL_DST)\n", tr.Port, tr.DecidedBy, tr.OriginalDst)
	case tr.DecidedBy == explain.DecidedByPolicy:
		fmt.Fprintf(w, "result: not redirected (%s): no rule of ours decided, the chain's policy did; the connection goes to %s itself\n", tr.Verdict, f.Dst)
	default:
		fmt.Fprintf(w, "result: not redirected (%s), by %s; the connection goes to %s itself\n", tr.Verdict, tr.DecidedBy, f.Dst)
	}
}

// Package pod programs one pod's network namespace: the sequence that every
// front end (the proxy-init command, the CNI plugin, users' own code) shares,
// so that none of them orders the engine's steps itself.
//
// Run plans the configuration (validating it before anything is touched),
// falls back to IPv4 on a kernel without IPv6, warns about legacy iptables
// NAT rules that share our hooks, applies, verifies, shows or removes our
// tables in one transaction, and writes the conntrack close-wait sysctl in
// the order that keeps a failure from leaving half a change.
//
// By default Run acts on the kernel (package nat/kernel) in the namespace the
// Request names; with Request.Engine set it acts on that engine instead, such
// as a *nat.Fake, so that a front end's own tests run without root.
package pod

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/explain"
)

// Op is what Run does to the namespace.
type Op int

const (
	// Apply installs the rules, replacing ours if they differ (the default).
	Apply Op = iota
	// Remove deletes our tables and nothing else.
	Remove
	// Verify compares the live rules with the configuration; Report.Diff
	// holds the difference.
	Verify
	// Show reads the live rules, with counters, into Report.Live.
	Show
	// Inspect reads what explain needs: the live rules (Report.Live),
	// their difference from the configuration (Report.Diff) and the base
	// chains of other tables (Report.Foreign); with Request.Flow, the
	// route of an outbound flow and its explanation (Report.Trace). It
	// writes nothing.
	Inspect
	// Check asks the kernel whether Apply would be accepted: the batch is
	// validated and aborted (nft --check), nothing changes. A refusal is
	// Run's error, classified as Apply's would be.
	Check
)

func (o Op) String() string {
	switch o {
	case Apply:
		return "apply"
	case Remove:
		return "remove"
	case Verify:
		return "verify"
	case Show:
		return "show"
	case Inspect:
		return "inspect"
	case Check:
		return "check"
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// Request is one run against one network namespace.
type Request struct {
	Op Op
	// Config is what to install (Apply) or compare with (Verify). Remove and
	// Show do not need it, but it is still validated.
	Config nat.Config
	// NetNS is the path of the network namespace to act in, such as
	// /run/netns/NAME, /proc/PID/ns/net or a CNI_NETNS; empty means the
	// process's own. Entering another namespace needs CAP_SYS_ADMIN.
	NetNS string
	// NetNSFile is an open network namespace file to act in, as an
	// alternative to NetNS (set one of them at most). The caller keeps it
	// open until Run returns.
	NetNSFile *os.File
	// Engine, when set, is what Run acts on instead of opening the kernel in
	// NetNS or NetNSFile (which must then be empty): a *nat.Fake in tests of
	// a front end, or a *kernel.Client the caller keeps. Run does not close
	// it. If it is also a nat.Host, Run probes, sets sysctls and looks up
	// routes through it; otherwise it assumes IPv6 and no legacy iptables,
	// explains a Flow without a route, and refuses CloseWaitSecs.
	Engine nat.Engine
	// CloseWaitSecs, when positive, sets the namespace's
	// net.netfilter.nf_conntrack_tcp_timeout_close_wait (Apply only).
	CloseWaitSecs int
	// Simulate plans and validates but touches nothing: Report.Plan holds
	// what Apply would install. Only valid with Apply.
	Simulate bool
	// Flow, with Inspect, is a connection to explain over the live rules
	// (Report.Trace), as proxy-init explain does. An outbound flow without
	// an output interface (OIF) gets the namespace's route for its
	// destination first (Flow.Route), so that a connection to one of the
	// pod's own addresses is seen to leave through lo, as the kernel sends
	// it. With Apply and Simulate it is explained over the plan instead,
	// with no lookup (there is no kernel to ask). Other operations refuse it.
	Flow *explain.Flow
	// Logger receives one line per decision; nil discards them.
	Logger *slog.Logger
}

// Warning is a condition the run noticed and carried on past.
type Warning struct {
	// Code is stable, for programs: see the Warn* constants.
	Code string
	// Message is for people.
	Message string
}

// Warning codes.
const (
	// WarnIPv6Disabled: the kernel has no IPv6; only the IPv4 rules were
	// used, and IPv6 entries of the subnet lists were left out.
	WarnIPv6Disabled = "ipv6-disabled"
	// WarnLegacyNAT: the namespace has a legacy (x_tables) iptables nat
	// table; its rules run on the same hooks as ours and can shadow them.
	WarnLegacyNAT = "legacy-nat"
)

// Report says what Run did.
type Report struct {
	Op Op
	// Plan is the ruleset that was (or, with Simulate, would be) installed
	// or compared with, after any IPv6 fallback.
	Plan *nat.Ruleset
	// Outcome is what Apply did.
	Outcome nat.Outcome
	// Removed says whether Remove found anything to remove.
	Removed bool
	// Live is what Show read.
	Live *nat.Ruleset
	// Diff is Verify's and Inspect's line diff (- configured, + live);
	// empty when equal.
	Diff string
	// Changes is Verify's and Inspect's difference as data (rules missing,
	// added and changed; tables, sets and chains); nil for other operations.
	Changes *nat.RulesetDiff
	// Foreign is what Inspect found of other tables' base chains, of every
	// family and hook: explain says which share our hooks.
	Foreign []nat.BaseChain
	// Flow is Request.Flow as explained: with the route looked up, if it
	// was. Trace is its explanation, over the live rules (Inspect, with the
	// other tables' chains on the hook noted) or the plan (Simulate).
	Flow  *explain.Flow
	Trace *explain.Trace
	// Warnings are the conditions noticed, in order.
	Warnings []Warning
}

// ErrSimulateOp refuses Simulate with an operation other than Apply: a
// remove or show "with simulate" would not be a dry run.
var ErrSimulateOp = errors.New("simulate applies only to apply")

// Run carries out one request. Configuration errors (*nat.ConfigError) come
// before anything touches the kernel; kernel and system errors are
// *nat.KernelError and leave the rules as they were, every write being one
// transaction (the one exception is documented at CloseWaitSecs' write).
func Run(ctx context.Context, req Request) (*Report, error) {
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := &Report{Op: req.Op}
	// Planned, and so validated, once, before anything touches the kernel.
	plan, err := nat.Plan(req.Config)
	if err != nil {
		return rep, err
	}
	rep.Plan = plan
	if req.Op == Apply || req.Op == Verify || req.Op == Check {
		rep.warnAll(log, configWarnings(req.Config))
	}
	if req.Flow != nil {
		if req.Op != Inspect && (req.Op != Apply || !req.Simulate) {
			return rep, fmt.Errorf("pod: Request.Flow is for Inspect, or Apply with Simulate, not %v", req.Op)
		}
		if err := req.Flow.Validate(); err != nil {
			return rep, err
		}
	}
	if req.Simulate {
		if req.Op != Apply {
			return rep, &nat.ConfigError{Field: nat.FieldSimulate, Value: req.Op.String(), Reason: ErrSimulateOp.Error() + "; " + req.Op.String() + " with it would not be a dry run", Err: ErrSimulateOp}
		}
		if req.Flow != nil {
			return rep, rep.explain(rep.Plan, *req.Flow)
		}
		return rep, nil
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	eng, closeEng, err := engine(ctx, req, log)
	if err != nil {
		return rep, err
	}
	defer closeEng()
	host, _ := eng.(nat.Host)

	switch req.Op {
	case Remove:
		rep.Removed, err = eng.Remove(ctx)
		return rep, err
	case Show:
		rep.Live, err = eng.Live(ctx)
		return rep, err
	}

	if req.Config.IPv6 && host != nil && !host.IPv6Available() {
		rep.warn(log, WarnIPv6Disabled, "this kernel has IPv6 disabled; installing the IPv4 rules only")
		if rep.Plan, err = nat.Plan(req.Config.WithoutIPv6()); err != nil {
			return rep, err
		}
	}
	if req.Op == Verify {
		rep.Changes, err = eng.Verify(ctx, rep.Plan)
		if err != nil {
			return rep, err
		}
		rep.Diff = rep.Changes.String()
		if rep.Changes.Empty() {
			log.Info("live rules match the configuration")
		}
		return rep, nil
	}
	if req.Op == Check {
		return rep, eng.Check(ctx, rep.Plan)
	}
	if req.Op == Inspect {
		return rep, inspect(ctx, rep, eng, host, req.Flow, log)
	}
	if req.Op != Apply {
		return rep, fmt.Errorf("pod: unknown operation %v", req.Op)
	}
	return rep, apply(ctx, rep, eng, host, req, log)
}

// engine is what the request acts on, and how to release it.
func engine(ctx context.Context, req Request, log *slog.Logger) (nat.Engine, func(), error) {
	if req.Engine != nil {
		if req.NetNS != "" || req.NetNSFile != nil {
			return nil, nil, errors.New("pod: Request.Engine and a namespace (NetNS, NetNSFile) are exclusive")
		}
		return req.Engine, func() {}, nil
	}
	return openKernel(ctx, req, log)
}

// inspect reads the live rules once and compares them with the plan, as
// Verify does, so that what is explained is what was compared; then the
// other tables' base chains, and whether a legacy nat table exists, which
// no nf_tables dump shows; then, with a flow, its route and explanation.
func inspect(ctx context.Context, rep *Report, eng nat.Engine, host nat.Host, flow *explain.Flow, log *slog.Logger) error {
	var err error
	if rep.Live, err = eng.Live(ctx); err != nil {
		return err
	}
	rep.Changes = nat.Compare(rep.Plan, rep.Live)
	rep.Diff = rep.Changes.String()
	if host != nil {
		chains, err := host.BaseChains(ctx)
		if err != nil {
			return err
		}
		for _, c := range chains {
			if !c.Ours() {
				rep.Foreign = append(rep.Foreign, c)
			}
		}
		if legacy, err := host.LegacyNATPresent(ctx); err != nil {
			log.Debug("could not check for legacy iptables", "error", err)
		} else if legacy {
			rep.warn(log, WarnLegacyNAT, "legacy iptables nat rules exist in this namespace; they run on the same hooks and are not evaluated")
		}
	}
	if flow == nil {
		return nil
	}
	f := *flow
	// The ignore-loopback rule matches the interface, which the address
	// alone does not tell: the kernel's route for it does.
	// A scoped destination's zone names the interface already.
	if f.Direction == explain.Outbound && f.OIF == "" && f.Route == nil && f.Dst.Addr().Zone() == "" && host != nil {
		r, err := host.Route(ctx, f.Dst.Addr(), f.UID)
		if err != nil {
			return err
		}
		f.Route = &r
		log.Info("looked up the output interface", "route", r.String())
	}
	if err := rep.explain(rep.Live, f); err != nil {
		return err
	}
	rep.Trace.NoteOthers(rep.Foreign)
	return nil
}

// explain evaluates f over rs into the report.
func (r *Report) explain(rs *nat.Ruleset, f explain.Flow) error {
	r.Flow = &f
	var err error
	r.Trace, err = explain.Explain(rs, f)
	return err
}

func (r *Report) warn(log *slog.Logger, code, msg string) {
	r.Warnings = append(r.Warnings, Warning{Code: code, Message: msg})
	log.Warn(msg, "warning", code)
}

func apply(ctx context.Context, rep *Report, eng nat.Engine, host nat.Host, req Request, log *slog.Logger) error {
	log.Info("configuration", req.Config.Summary()...)
	if host != nil {
		if legacy, err := host.LegacyNATPresent(ctx); err != nil {
			log.Debug("could not check for legacy iptables", "error", err)
		} else if legacy {
			rep.warn(log, WarnLegacyNAT, "legacy iptables nat rules exist in this namespace; they run on the same hooks and can shadow ours")
		}
	}
	// Open the sysctl before touching the rules, so that an unwritable one
	// fails the run before anything changes. It may not exist until our NAT
	// rules load conntrack; then it is opened again afterwards, and a
	// failure then leaves the new rules in place.
	closeWait := req.CloseWaitSecs
	var sysctl nat.Sysctl
	if closeWait > 0 {
		if host == nil {
			return &nat.ConfigError{Field: nat.FieldCloseWaitSecs, Value: fmt.Sprint(closeWait), Reason: "the engine cannot set sysctls (it is not a nat.Host)"}
		}
		s, err := host.OpenCloseWait(ctx)
		switch {
		case err == nil:
			sysctl = s
			defer s.Close()
		case !errors.Is(err, fs.ErrNotExist):
			return sysctlError(closeWait, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if rep.Outcome, err = eng.Apply(ctx, rep.Plan); err != nil {
		return err
	}
	if log.Enabled(ctx, slog.LevelDebug) {
		log.Debug("installed ruleset\n" + rep.Plan.Listing(false))
	}
	if closeWait <= 0 {
		return nil
	}
	if sysctl == nil {
		s, err := host.OpenCloseWait(ctx)
		if err != nil {
			return sysctlError(closeWait, err)
		}
		defer s.Close()
		sysctl = s
	}
	if err := sysctl.Set(closeWait); err != nil {
		return sysctlError(closeWait, err)
	}
	log.Info("set conntrack close-wait timeout", "seconds", closeWait)
	return nil
}

// sysctlError names the flag and value that asked for the sysctl, so that
// the one error line says which part of the invocation failed.
func sysctlError(closeWait int, err error) error {
	return nat.NewKernelError(nat.OpSysctl, nat.KindOther, fmt.Errorf("--timeout-close-wait-secs=%d: %w", closeWait, err))
}

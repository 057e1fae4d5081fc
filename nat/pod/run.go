package pod

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/explain"
)

// op is which operation run carries out: the exported functions are thin
// over run, so that the steps are ordered in one place.
type op int

const (
	opApply op = iota
	opCheck
	opVerify
	opInspect
	opShow
	opRemove
)

// job is one operation's input besides its target.
type job struct {
	op        op
	cfg       nat.Config    // all but opShow and opRemove
	closeWait int           // opApply
	flow      *explain.Flow // opInspect; nil: no flow
}

// report is what run found; each exported function returns its part.
type report struct {
	Result
	outcome nat.Outcome
	removed bool
	live    *nat.Ruleset
	changes *nat.RulesetDiff
	foreign []nat.BaseChain
	flow    *explain.Flow
	trace   *explain.Trace
}

// planned plans, and so validates, cfg before anything touches the kernel,
// with the warnings the configuration itself earns when warn is set: all of
// Simulate, and every other operation's first step.
func planned(cfg nat.Config, warn bool, log *slog.Logger) (*Result, error) {
	plan, err := nat.Plan(cfg)
	if err != nil {
		return nil, err
	}
	r := &Result{Plan: plan}
	if warn {
		r.warnAll(log, configWarnings(cfg))
	}
	return r, nil
}

// run carries out one operation. Configuration errors (*nat.ConfigError)
// come before anything touches the kernel; kernel and system errors are
// *nat.KernelError and leave the rules as they were, every write being one
// transaction (the one exception is documented at the close-wait write).
func run(ctx context.Context, t Target, j job) (*report, error) {
	log := t.logger()
	rep := &report{}
	if j.op != opShow && j.op != opRemove {
		// Inspect reads whatever is there; the configuration's oddities
		// are for the operations that install or compare it.
		r, err := planned(j.cfg, j.op != opInspect, log)
		if err != nil {
			return nil, err
		}
		rep.Result = *r
	}
	if j.flow != nil {
		if err := j.flow.Validate(); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	eng, closeEng, err := t.open(ctx, log)
	if err != nil {
		return nil, err
	}
	defer closeEng()
	host, _ := eng.(nat.Host)

	switch j.op {
	case opRemove:
		rep.removed, err = eng.Remove(ctx)
		return rep, err
	case opShow:
		rep.live, err = eng.Live(ctx)
		return rep, err
	}

	if j.cfg.IPv6 && host != nil && !host.IPv6Available() {
		rep.warn(log, WarnIPv6Disabled, "this kernel has IPv6 disabled; installing the IPv4 rules only")
		if rep.Plan, err = nat.Plan(j.cfg.WithoutIPv6()); err != nil {
			return nil, err
		}
	}
	switch j.op {
	case opVerify:
		if rep.changes, err = eng.Verify(ctx, rep.Plan); err != nil {
			return nil, err
		}
		if rep.changes.Empty() {
			log.Info("live rules match the configuration")
		}
		return rep, nil
	case opCheck:
		return rep, eng.Check(ctx, rep.Plan)
	case opInspect:
		return rep, inspect(ctx, rep, eng, host, j.flow, log)
	case opApply:
		return rep, apply(ctx, rep, eng, host, j, log)
	}
	return nil, fmt.Errorf("pod: unknown operation %d", j.op)
}

// inspect reads the live rules once and compares them with the plan, as
// Verify does, so that what is explained is what was compared; then the
// other tables' base chains, and whether a legacy nat table exists, which
// no nf_tables dump shows; then, with a flow, its route and explanation.
func inspect(ctx context.Context, rep *report, eng nat.Engine, host nat.Host, flow *explain.Flow, log *slog.Logger) error {
	var err error
	if rep.live, err = eng.Live(ctx); err != nil {
		return err
	}
	rep.changes = nat.Compare(rep.Plan, rep.live)
	if host != nil {
		chains, err := host.BaseChains(ctx)
		if err != nil {
			return err
		}
		for _, c := range chains {
			if !c.Ours() {
				rep.foreign = append(rep.foreign, c)
			}
		}
		rep.warnLegacyNAT(ctx, host, log, "are not evaluated")
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
	rep.flow = &f
	if rep.trace, err = explain.Explain(rep.live, f); err != nil {
		return err
	}
	rep.trace.NoteOthers(rep.foreign)
	return nil
}

func apply(ctx context.Context, rep *report, eng nat.Engine, host nat.Host, j job, log *slog.Logger) error {
	log.Info("configuration", j.cfg.Summary()...)
	if host != nil {
		rep.warnLegacyNAT(ctx, host, log, "can shadow ours")
	}
	// Open the sysctl before touching the rules, so that an unwritable one
	// fails the run before anything changes. It may not exist until our NAT
	// rules load conntrack; then it is opened again afterwards, and a
	// failure then leaves the new rules in place.
	closeWait := j.closeWait
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
	if rep.outcome, err = eng.Apply(ctx, rep.Plan); err != nil {
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

// warnLegacyNAT warns when the namespace has a legacy iptables nat table,
// whose rules run on our hooks: effect says what that means to the caller.
// A failed check is only logged: it decides nothing.
func (r *Result) warnLegacyNAT(ctx context.Context, host nat.Host, log *slog.Logger, effect string) {
	if legacy, err := host.LegacyNATPresent(ctx); err != nil {
		log.Debug("could not check for legacy iptables", "error", err)
	} else if legacy {
		r.warn(log, WarnLegacyNAT, "legacy iptables nat rules exist in this namespace; they run on the same hooks and "+effect)
	}
}

// sysctlError names the setting and the value asked for, in the library's
// words: a front end that took it from a flag or key can say which (OpOf is
// OpSysctl).
func sysctlError(closeWait int, err error) error {
	return nat.NewKernelError(nat.OpSysctl, nat.KindOther, fmt.Errorf("set the conntrack close-wait timeout to %d s: %w", closeWait, err))
}

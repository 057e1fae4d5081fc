// Package pod programs one pod's network namespace: the sequence that every
// front end (the proxy-init command, the CNI plugin, users' own code) shares,
// so that none of them orders the engine's steps itself.
//
// Start with Apply: it installs a nat.Config's rules in a Target, the
// namespace by path (AtPath), by open file (AtFile) or an engine such as a
// *nat.Fake (OnEngine). Verify, Check, Inspect, Show and Remove act on the
// same targets; Simulate plans and touches nothing.
//
// An operation that takes a configuration plans it first, so that a bad
// one is refused (*nat.ConfigError) before anything touches the kernel, and
// falls back to IPv4 on a kernel without IPv6. Apply (and Inspect) warn
// about legacy iptables NAT rules that share our hooks; Apply writes in one
// transaction, so that a kernel error (*nat.KernelError) leaves the rules as they were, and
// writes the conntrack close-wait sysctl in the order that keeps a failure
// from leaving half a change. On error, an operation's result is nil.
package pod

import (
	"context"
	"log/slog"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/explain"
)

// Result is what an operation that takes a configuration planned.
type Result struct {
	// Plan is the ruleset installed, checked or compared with (or, from
	// Simulate, that Apply would install), after any IPv6 fallback.
	Plan *nat.Ruleset
	// Warnings are the conditions noticed, in order; each was also logged.
	Warnings []Warning
}

// ApplyResult is what Apply did.
type ApplyResult struct {
	Result
	Outcome nat.Outcome
}

// VerifyResult is how the live rules differ from the plan.
type VerifyResult struct {
	Result
	// Changes is the difference: rules missing, added and changed; tables,
	// sets and chains. Changes.Empty() when they are equal; Changes.String()
	// is the line diff (- configured, + live).
	Changes *nat.RulesetDiff
}

// InspectResult is what explain needs, read in one pass.
type InspectResult struct {
	Result
	// Live is the rules read; Changes their difference from the plan, as
	// Verify computes it.
	Live    *nat.Ruleset
	Changes *nat.RulesetDiff
	// Foreign is what was found of other tables' base chains, of every
	// family and hook: explain says which share our hooks.
	Foreign []nat.BaseChain
	// Flow is Inspect's flow as explained, with the route looked up if it
	// was, and Trace its explanation over Live, with the other tables'
	// chains on its hook noted. Both are nil without a flow.
	Flow  *explain.Flow
	Trace *explain.Trace
}

// ApplyOptions are Apply's settings beyond the configuration.
type ApplyOptions struct {
	// CloseWaitSecs, when positive, sets the namespace's
	// net.netfilter.nf_conntrack_tcp_timeout_close_wait. The target's
	// engine must then be a nat.Host (the kernel and the Fake are).
	CloseWaitSecs int
}

// Apply installs cfg's rules in t, replacing ours if they differ, and with
// o.CloseWaitSecs sets the close-wait sysctl. An unwritable sysctl fails
// before the rules are written, except when it exists only once our rules
// have loaded conntrack: a failure then leaves the new rules in place.
func Apply(ctx context.Context, t Target, cfg nat.Config, o ApplyOptions) (*ApplyResult, error) {
	r, err := run(ctx, t, job{op: opApply, cfg: cfg, closeWait: o.CloseWaitSecs})
	if err != nil {
		return nil, err
	}
	return &ApplyResult{Result: r.Result, Outcome: r.outcome}, nil
}

// Simulate is Apply's dry run: the plan and the warnings the configuration
// itself earns, logged to log (nil discards them). It touches nothing, so it
// runs anywhere, without privileges; explain.Explain(r.Plan, flow) explains
// a connection over it.
func Simulate(cfg nat.Config, log *slog.Logger) (*Result, error) {
	return planned(cfg, true, logger(log))
}

// Check asks t's engine whether Apply would be accepted: the batch is
// validated and aborted (nft --check), nothing changes. A refusal is the
// error, classified as Apply's would be.
func Check(ctx context.Context, t Target, cfg nat.Config) (*Result, error) {
	r, err := run(ctx, t, job{op: opCheck, cfg: cfg})
	if err != nil {
		return nil, err
	}
	return &r.Result, nil
}

// Verify compares the live rules in t with cfg's plan.
func Verify(ctx context.Context, t Target, cfg nat.Config) (*VerifyResult, error) {
	r, err := run(ctx, t, job{op: opVerify, cfg: cfg})
	if err != nil {
		return nil, err
	}
	return &VerifyResult{Result: r.Result, Changes: r.changes}, nil
}

// Inspect reads what explain needs and writes nothing: the live rules and
// their difference from cfg's plan, the base chains of other tables and,
// with a flow (nil: none), its explanation over the live rules. An outbound
// flow without an output interface (OIF) gets t's route for its destination
// first (Flow.Route), so that a connection to one of the pod's own
// addresses is seen to leave through lo, as the kernel sends it. A flow
// explain.Flow.Validate refuses is refused before anything is read.
func Inspect(ctx context.Context, t Target, cfg nat.Config, flow *explain.Flow) (*InspectResult, error) {
	r, err := run(ctx, t, job{op: opInspect, cfg: cfg, flow: flow})
	if err != nil {
		return nil, err
	}
	return &InspectResult{Result: r.Result, Live: r.live, Changes: r.changes, Foreign: r.foreign, Flow: r.flow, Trace: r.trace}, nil
}

// Show reads the live rules of our tables in t, with their counters; no
// tables is an empty Ruleset.
func Show(ctx context.Context, t Target) (*nat.Ruleset, error) {
	r, err := run(ctx, t, job{op: opShow})
	if err != nil {
		return nil, err
	}
	return r.live, nil
}

// Remove deletes our tables from t and nothing else; it reports whether
// there was anything to remove.
func Remove(ctx context.Context, t Target) (bool, error) {
	r, err := run(ctx, t, job{op: opRemove})
	if err != nil {
		return false, err
	}
	return r.removed, nil
}

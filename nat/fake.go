package nat

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"sync"
)

// Fake is an in-memory Engine and Host: it keeps "the kernel's" tables in
// memory, works on any GOOS and needs no privileges, so that code built on
// an Engine (a CNI plugin, an operator, nat/pod itself) can be tested
// without root. Its zero value is an empty namespace with IPv6.
//
// It refuses what *kernel.Client refuses of a Ruleset a plan could not
// produce (Ruleset.Validate: a table not ours, a rule whose set or jump
// target is missing), with the same errors.
// Counters stay zero.
type Fake struct {
	mu     sync.Mutex
	tables *Ruleset

	// NoIPv6 makes IPv6Available report false, as on a kernel booted with
	// ipv6.disable=1.
	NoIPv6 bool
	// LegacyNAT makes LegacyNATPresent report true.
	LegacyNAT bool
	// NoConntrack makes OpenCloseWait fail with fs.ErrNotExist until the
	// first successful Apply, as the kernel does before NAT loads conntrack.
	NoConntrack bool
	// CloseWait is the last value written to the close-wait sysctl.
	CloseWait int
	// Foreign are other tables' base chains, which BaseChains lists after
	// ours.
	Foreign []BaseChain
	// Routes are the namespace's routes by destination, which Route
	// answers; a destination not in it has none ("network is unreachable").
	Routes map[netip.Addr]Route

	// Fail, when set, is asked before each step with the step's Op (OpRead,
	// OpCreateTable for a write, OpDeleteTable for Remove, OpProbe (also
	// for Route), OpSysctl); an error it returns is that step's failure, and nothing
	// changes. Return a *KernelError (NewKernelError) to act as the kernel.
	// It is called with the fake locked: it must not call the fake.
	Fail func(op Op) error

	// Writes counts the transactions committed.
	Writes int
}

// NewFake returns an empty namespace with IPv6.
func NewFake() *Fake { return &Fake{} }

var _ interface {
	Engine
	Host
} = (*Fake)(nil)

func (f *Fake) fail(op Op) error {
	if f.Fail == nil {
		return nil
	}
	return f.Fail(op)
}

// Set replaces the fake's tables as another writer (nft, a second
// proxy-init) would; nil removes them.
func (f *Fake) Set(rs *Ruleset) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tables = rs.clone()
}

// Apply installs rs, replacing our tables if they differ.
func (f *Fake) Apply(ctx context.Context, rs *Ruleset) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// Before anything else, as the kernel engine: a Ruleset it refuses is
	// refused here even when the fake already holds the same one.
	if err := rs.Validate(); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(OpRead); err != nil {
		return 0, err
	}
	live := f.tables
	if live != nil && len(live.Tables) > 0 && live.Listing(false) == rs.Listing(false) {
		return Unchanged, nil
	}
	if err := f.fail(OpCreateTable); err != nil {
		return 0, err
	}
	f.tables = rs.clone()
	f.Writes++
	f.NoConntrack = false
	if live == nil || len(live.Tables) == 0 {
		return Installed, nil
	}
	return Replaced, nil
}

// Check reports whether Apply(rs) would be accepted, changing nothing.
func (f *Fake) Check(ctx context.Context, rs *Ruleset) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(OpCreateTable); err != nil {
		return err
	}
	return rs.Validate()
}

// Live returns a copy of the fake's tables.
func (f *Fake) Live(ctx context.Context) (*Ruleset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(OpRead); err != nil {
		return nil, err
	}
	if f.tables == nil {
		return &Ruleset{}, nil
	}
	return f.tables.clone(), nil
}

// Verify compares the fake's tables with rs.
func (f *Fake) Verify(ctx context.Context, rs *Ruleset) (*RulesetDiff, error) {
	live, err := f.Live(ctx)
	if err != nil {
		return nil, err
	}
	return Compare(rs, live), nil
}

// Remove deletes the fake's tables.
func (f *Fake) Remove(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(OpDeleteTable); err != nil {
		return false, err
	}
	had := f.tables != nil && len(f.tables.Tables) > 0
	if had {
		f.Writes++
	}
	f.tables = nil
	return had, nil
}

// Close does nothing; the fake keeps its tables.
func (f *Fake) Close() error { return nil }

// IPv6Available is !NoIPv6.
func (f *Fake) IPv6Available() bool { return !f.NoIPv6 }

// LegacyNATPresent is LegacyNAT.
func (f *Fake) LegacyNATPresent(ctx context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(OpProbe); err != nil {
		return false, err
	}
	return f.LegacyNAT, nil
}

// OpenCloseWait opens the fake's close-wait sysctl; writing it sets
// CloseWait.
func (f *Fake) OpenCloseWait(ctx context.Context) (Sysctl, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(OpSysctl); err != nil {
		return nil, err
	}
	if f.NoConntrack {
		return nil, fmt.Errorf("open sysctl net.netfilter.nf_conntrack_tcp_timeout_close_wait: %w", fs.ErrNotExist)
	}
	return fakeSysctl{f}, nil
}

// BaseChains lists our installed base chains, then Foreign.
func (f *Fake) BaseChains(ctx context.Context) ([]BaseChain, error) {
	if err := ctx.Err(); err != nil { // a read, as the kernel's
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(OpRead); err != nil {
		return nil, err
	}
	var out []BaseChain
	if f.tables != nil {
		for _, t := range f.tables.Tables {
			for _, c := range t.Chains {
				if c.Hook != nil {
					out = append(out, BaseChain{Family: t.Family.String(), Table: t.Name, Chain: c.Name, Type: c.Hook.Type, Hook: c.Hook.Name, Priority: c.Hook.Priority})
				}
			}
		}
	}
	return append(out, f.Foreign...), nil
}

// Route answers from Routes.
func (f *Fake) Route(ctx context.Context, dst netip.Addr, uid int64) (Route, error) {
	if err := ctx.Err(); err != nil {
		return Route{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail(OpProbe); err != nil {
		return Route{}, err
	}
	if r, ok := f.Routes[dst]; ok {
		r.Dst = dst
		return r, nil
	}
	return Route{Dst: dst, NoRoute: "network is unreachable"}, nil
}

type fakeSysctl struct{ f *Fake }

func (s fakeSysctl) Set(v int) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.CloseWait = v
	return nil
}

func (s fakeSysctl) Close() error { return nil }

// clone copies the model deeply enough that neither side's later changes
// reach the other (element keys are never modified in place, so they are
// shared).
func (r *Ruleset) clone() *Ruleset {
	if r == nil {
		return nil
	}
	out := &Ruleset{}
	for _, t := range r.Tables {
		nt := *t
		nt.Sets = nil
		for _, s := range t.Sets {
			ns := *s
			ns.Elements = slices.Clone(s.Elements)
			nt.Sets = append(nt.Sets, &ns)
		}
		nt.Chains = nil
		for _, c := range t.Chains {
			nc := *c
			if c.Hook != nil {
				h := *c.Hook
				nc.Hook = &h
			}
			nc.Rules = nil
			for _, rule := range c.Rules {
				nr := *rule
				nr.Matches = slices.Clone(rule.Matches)
				nc.Rules = append(nc.Rules, &nr)
			}
			nt.Chains = append(nt.Chains, &nc)
		}
		out.Tables = append(out.Tables, &nt)
	}
	return out
}

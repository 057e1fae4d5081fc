package nat

import (
	"context"
	"net/netip"
)

// Engine installs, reads and removes our tables in one network namespace.
// The real one is *kernel.Client (package nat/kernel, Linux only); *Fake
// keeps the tables in memory, on any GOOS and without privileges, for tests
// of code that uses an Engine. Every method takes the run's context: its
// deadline bounds each wait for the kernel.
type Engine interface {
	// Apply makes our tables equal to rs in one transaction and says what
	// it did.
	Apply(ctx context.Context, rs *Ruleset) (Outcome, error)
	// Check asks whether Apply(rs) would be accepted, changing nothing (as
	// nft --check does).
	Check(ctx context.Context, rs *Ruleset) error
	// Live returns our tables as they are, with counters.
	Live(ctx context.Context) (*Ruleset, error)
	// Verify compares the live tables with rs; the diff is empty when they
	// are equal.
	Verify(ctx context.Context, rs *Ruleset) (*RulesetDiff, error)
	// Remove deletes our tables and nothing else; it reports whether there
	// was anything to remove.
	Remove(ctx context.Context) (bool, error)
	// Close releases what the Engine holds.
	Close() error
}

// Host is what setting up a pod needs of its namespace besides the tables.
// An Engine that is also a Host (both *kernel.Client and *Fake are) lets
// nat/pod warn about IPv6 and legacy iptables and set the close-wait sysctl
// through it.
type Host interface {
	// IPv6Available reports whether the kernel has IPv6 (ipv6.disable=1
	// removes it).
	IPv6Available() bool
	// LegacyNATPresent reports whether the namespace has a legacy
	// (x_tables) iptables nat table, whose rules share our hooks.
	LegacyNATPresent(ctx context.Context) (bool, error)
	// OpenCloseWait opens the namespace's conntrack close-wait timeout
	// (net.netfilter.nf_conntrack_tcp_timeout_close_wait). It returns an
	// error matching fs.ErrNotExist until conntrack is loaded, which our NAT
	// rules do.
	OpenCloseWait(ctx context.Context) (Sysctl, error)
	// BaseChains lists the base chains of every table in the namespace, of
	// every family, ours included: explain says which other NAT chains
	// share our hooks.
	BaseChains(ctx context.Context) ([]BaseChain, error)
	// Route looks up the namespace's route for a connection to dst, sent
	// by uid (NoID: not given), as ip route get does: explain takes its
	// interface as an outbound flow's output interface when none is given.
	// No route is an answer (Route.NoRoute), not an error.
	Route(ctx context.Context, dst netip.Addr, uid int64) (Route, error)
}

// Sysctl is one opened sysctl.
type Sysctl interface {
	Set(v int) error
	Close() error
}

// Outcome says what Apply did.
type Outcome int

const (
	Installed Outcome = iota // the tables did not exist and were created
	Replaced                 // the tables differed and were replaced
	Unchanged                // the tables already equalled the plan
)

func (o Outcome) String() string {
	switch o {
	case Installed:
		return "installed"
	case Replaced:
		return "replaced"
	case Unchanged:
		return "unchanged"
	}
	return "outcome(?)"
}

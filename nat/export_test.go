package nat

import (
	"testing"

	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testns"
)

// SetBeforeCommit installs a hook that sees, and may alter, every batch the
// client is about to send. Tests use it to make the kernel refuse a batch.
func SetBeforeCommit(c *Client, hook func(*nfnl.Batch)) { c.beforeCommit = hook }

// OpenClient opens a client in the namespace, closed when the test ends.
func OpenClient(t testing.TB, ns *testns.NS) *Client {
	t.Helper()
	c, err := NewClient(Options{NetNSFD: ns.FD()})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// MustPlan plans a configuration that must be valid.
func MustPlan(t testing.TB, c Config) *Ruleset {
	t.Helper()
	rs, err := Plan(c)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return rs
}

// MustApply applies a plan that must succeed and returns what Apply did.
func MustApply(t testing.TB, c *Client, rs *Ruleset) Outcome {
	t.Helper()
	out, err := c.Apply(rs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return out
}

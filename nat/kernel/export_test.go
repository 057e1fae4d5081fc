//go:build linux

package kernel

import (
	"context"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
)

// SetBeforeCommit installs a hook that sees, and may alter, every batch the
// client is about to send. Tests use it to make the kernel refuse a batch.
func SetBeforeCommit(c *Client, hook func(*nfnl.Batch)) { c.beforeCommit = hook }

// SetLowerRule replaces the client's lowering of rules, so a test can
// install a rule the plan could not produce.
func SetLowerRule(c *Client, lower func(r *nat.Rule, f nat.Family) []expr.Any) { c.lowerRule = lower }

// LowerRule and UserData are the lowering of a planned rule.
var (
	LowerRule = lowerRule
	UserData  = userData
)

// OpenClient opens a client in the namespace, closed when the test ends.
func OpenClient(t testing.TB, ns *testns.NS) *Client {
	t.Helper()
	c, err := Open(t.Context(), AtFD(ns.FD()), Options{})
	if err != nil {
		t.Fatalf("kernel.Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// MustApply applies a plan that must succeed and returns what Apply did.
func MustApply(t testing.TB, c *Client, rs *nat.Ruleset) nat.Outcome {
	t.Helper()
	out, err := c.Apply(t.Context(), rs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return out
}

// VerifyText is Verify's line diff, "" when equal.
func VerifyText(ctx context.Context, c *Client, rs *nat.Ruleset) (string, error) {
	d, err := c.Verify(ctx, rs)
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

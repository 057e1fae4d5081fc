package nat

import (
	"net/netip"
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

// DisjointSubnets returns n IPv4 /24s and n IPv6 /64s, none adjacent to
// another, so that none merge and each is its own interval.
func DisjointSubnets(n int, v4base, v6base string) []netip.Prefix {
	b4 := netip.MustParseAddr(v4base).As4()
	b6 := netip.MustParseAddr(v6base).As16()
	out := make([]netip.Prefix, 0, 2*n)
	for i := range n {
		a4 := b4
		a4[1] += byte(i >> 7)
		a4[2] = byte(i&127) * 2
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(a4), 24))
		a6 := b6
		a6[6], a6[7] = byte(i>>7), byte(i&127)*2
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(a6), 64))
	}
	return out
}

// EveryOtherPort returns the ports first, first+2, ... up to 65535.
func EveryOtherPort(first int) []PortRange {
	var out []PortRange
	for p := first; p <= 65535; p += 2 {
		out = append(out, PortRange{First: uint16(p), Last: uint16(p)})
	}
	return out
}

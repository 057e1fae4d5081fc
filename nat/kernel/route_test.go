//go:build linux

package kernel_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
)

// TestKernelRouteLookup: the route lookup explain uses for an outbound
// flow without --oif answers as ip route get does, in the client's own
// namespace: the namespace's own addresses and loopback leave through lo
// (a local route), an address on the link through the link, one with no
// route (or a blackhole, unreachable or prohibit route) is "no route" and
// not an error, and the sender's uid takes part in policy routing.
func TestKernelRouteLookup(t *testing.T) {
	ns := testns.New(t)
	for _, args := range [][]string{
		{"link", "add", "eth0", "type", "veth", "peer", "name", "eth1"},
		// Up before the addresses: an address added to a down link gets its
		// routes only when the link comes up, from a work queue.
		{"link", "set", "eth0", "up"},
		{"link", "set", "eth1", "up"},
		{"addr", "add", "10.0.0.2/24", "dev", "eth0"},
		{"-6", "addr", "add", "fd00::2/64", "dev", "eth0", "nodad"},
		{"route", "add", "blackhole", "198.51.100.0/24"},
		{"route", "add", "unreachable", "198.51.101.0/24"},
		{"route", "add", "prohibit", "198.51.102.0/24"},
		// Only uid 1000's connections to 10.9.9.0/24 have a route.
		{"route", "add", "10.9.9.0/24", "dev", "eth1", "table", "100"},
		{"rule", "add", "uidrange", "1000-1000", "lookup", "100"},
	} {
		ns.Run(t, "ip", args...)
	}
	// The IPv6 local and prefix routes still appear asynchronously (the
	// address's DAD completion, immediate with nodad, runs from a work
	// queue): without them fd00::2 resolves through eth0, as it did in 5 of
	// 40 runs beside other namespace work.
	waitRoute(t, ns, "local fd00::2 ", "-6", "route", "show", "table", "local")
	waitRoute(t, ns, "fd00::/64 dev eth0", "-6", "route", "show", "table", "main")
	c := kernel.OpenClient(t, ns)
	for _, tc := range []struct {
		dst       string
		uid       int64
		oif, typ  string
		noRouteIs string
	}{
		{dst: "10.0.0.2", oif: "lo", typ: "local"},
		{dst: "127.0.0.1", oif: "lo", typ: "local"},
		{dst: "10.0.0.9", oif: "eth0", typ: "unicast"},
		{dst: "fd00::2", oif: "lo", typ: "local"},
		{dst: "::1", oif: "lo", typ: "local"},
		{dst: "fd00::9", oif: "eth0", typ: "unicast"},
		{dst: "203.0.113.1", noRouteIs: "network is unreachable"},
		{dst: "2001:db8::1", noRouteIs: "network is unreachable"},
		{dst: "198.51.100.1", noRouteIs: "blackhole"},
		{dst: "198.51.101.1", noRouteIs: "unreachable route"},
		{dst: "198.51.102.1", noRouteIs: "prohibit"},
		{dst: "10.9.9.9", uid: 1000, oif: "eth1", typ: "unicast"},
		{dst: "10.9.9.9", uid: 1001, noRouteIs: "network is unreachable"},
		{dst: "10.9.9.9", uid: nat.NoID, noRouteIs: "network is unreachable"},
	} {
		dst := netip.MustParseAddr(tc.dst)
		r, err := c.Route(t.Context(), dst, tc.uid)
		if err != nil {
			t.Errorf("Route(%s, uid %d): %v", dst, tc.uid, err)
			continue
		}
		if r.Dst != dst || r.OIF != tc.oif || r.Type != tc.typ || (tc.noRouteIs == "") != (r.NoRoute == "") || !strings.Contains(r.NoRoute, tc.noRouteIs) {
			t.Errorf("Route(%s, uid %d) = %+v; want dev %q type %q, no route %q", dst, tc.uid, r, tc.oif, tc.typ, tc.noRouteIs)
		}
	}
}

// waitRoute waits until `ip args...` in ns lists a line starting with
// prefix: setup waits for the state it needs rather than racing it. The
// limit is generous; it is reached only if the route never comes.
func waitRoute(t *testing.T, ns *testns.NS, prefix string, args ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := ns.Run(t, "ip", args...)
		for line := range strings.Lines(out) {
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no route %q after 10s in ip %s:\n%s", prefix, strings.Join(args, " "), out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

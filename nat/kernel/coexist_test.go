//go:build linux

package kernel_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// preloadForeign fills a namespace with what a pod may already have: the
// iptables-nft nat tables of both families, with rules on the same hooks as
// ours, a user chain and jumps to it, and an inet filter table with a set.
func preloadForeign(t *testing.T, ns *testns.NS) {
	t.Helper()
	for _, argv := range [][]string{
		{"iptables-nft", "-t", "nat", "-N", "APP_NAT"},
		{"iptables-nft", "-t", "nat", "-A", "APP_NAT", "-s", "10.9.0.0/16", "-j", "RETURN"},
		{"iptables-nft", "-t", "nat", "-A", "APP_NAT", "-p", "tcp", "--dport", "8081", "-j", "REDIRECT", "--to-ports", "9091"},
		{"iptables-nft", "-t", "nat", "-A", "PREROUTING", "-j", "APP_NAT"},
		{"iptables-nft", "-t", "nat", "-A", "OUTPUT", "-d", "192.0.2.10/32", "-p", "tcp", "-j", "DNAT", "--to-destination", "192.0.2.20:80"},
		{"iptables-nft", "-t", "nat", "-A", "OUTPUT", "-m", "owner", "--uid-owner", "1234", "-j", "RETURN"},
		{"iptables-nft", "-t", "nat", "-A", "POSTROUTING", "-o", "lo", "-j", "MASQUERADE"},
		{"ip6tables-nft", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "81", "-j", "REDIRECT", "--to-ports", "9092"},
		{"ip6tables-nft", "-t", "nat", "-A", "PREROUTING", "-s", "fd00:9::/64", "-j", "RETURN"},
	} {
		ns.Run(t, argv[0], argv[1:]...)
	}
	ns.LoadNft(t, `table inet filter {
	set allowed {
		type ipv4_addr
		flags interval
		elements = { 10.0.0.0/8, 172.16.0.0/12 }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
		ip saddr @allowed tcp dport { 22, 443 } counter accept
	}
	chain output {
		type filter hook output priority filter; policy accept;
		meta skuid 2102 counter accept
	}
}
`)
}

// foreignState lists the foreign tables one by one, with handles, and as
// iptables-save prints them (minus its timestamp comments).
func foreignState(t *testing.T, ns *testns.NS) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range [][]string{{"ip", "nat"}, {"ip6", "nat"}, {"inet", "filter"}} {
		b.WriteString(ns.Run(t, "nft", "-a", "list", "table", tbl[0], tbl[1]))
	}
	for _, save := range []string{"iptables-nft-save", "ip6tables-nft-save"} {
		for _, line := range strings.Split(ns.Run(t, save, "-t", "nat"), "\n") {
			if !strings.HasPrefix(line, "#") {
				b.WriteString(line + "\n")
			}
		}
	}
	return b.String()
}

// TestCoexistForeignTablesUntouched: iptables-nft nat tables and an inet
// filter table keep byte-identical listings through apply, re-apply,
// reconfigure (also to IPv4 only and back) and remove, and after remove the
// whole ruleset is what it was before we came.
func TestCoexistForeignTablesUntouched(t *testing.T) {
	t.Parallel()
	ns := testns.New(t)
	preloadForeign(t, ns)
	initial := ns.Ruleset(t)
	want := foreignState(t, ns)
	for _, s := range []string{"APP_NAT", "9092", "@allowed", "MASQUERADE"} {
		if !strings.Contains(want, s) {
			t.Fatalf("preload incomplete, %q missing:\n%s", s, want)
		}
	}

	a := nat.DefaultConfig()
	a.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4191}}
	b := a
	b.ProxyUID, b.ProxyGID = 1000, 1000
	b.PortsToRedirect = []nat.PortRange{{First: 80, Last: 80}, {First: 8000, Last: 8999}}
	b.OutboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16"), netip.MustParsePrefix("fd00:9::/64")}
	c4 := b
	c4.IPv6 = false
	c4.OutboundSubnetsToIgnore = c4.OutboundSubnetsToIgnore[:1]

	c := kernel.OpenClient(t, ns)
	for _, step := range []struct {
		name string
		cfg  *nat.Config // nil: remove
		want nat.Outcome
	}{
		{"apply", &a, nat.Installed},
		{"re-apply", &a, nat.Unchanged},
		{"reconfigure", &b, nat.Replaced},
		{"reconfigure to IPv4 only", &c4, nat.Replaced},
		{"reconfigure back to dual stack", &a, nat.Replaced},
		{"remove", nil, 0},
	} {
		if step.cfg == nil {
			if removed, err := c.Remove(t.Context()); err != nil || !removed {
				t.Fatalf("%s: %v, %v", step.name, removed, err)
			}
		} else {
			rs := nattest.MustPlan(t, *step.cfg)
			if got := kernel.MustApply(t, c, rs); got != step.want {
				t.Fatalf("%s: %v, want %v", step.name, got, step.want)
			}
			if d, err := kernel.VerifyText(t.Context(), c, rs); err != nil || d != "" {
				t.Fatalf("%s: verify: err %v, diff:\n%s", step.name, err, d)
			}
		}
		if got := foreignState(t, ns); got != want {
			t.Fatalf("%s changed the foreign tables (- before, + after):\n%s", step.name, linediff.Diff(want, got))
		}
	}
	if got := ns.Ruleset(t); got != initial {
		t.Fatalf("after remove the ruleset is not what it was before apply (- before, + after):\n%s", linediff.Diff(initial, got))
	}
}

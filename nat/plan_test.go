package nat_test

import (
	"flag"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	. "github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func fullConfig() Config { return testcfg.Full() }

// MustPlan plans a configuration that must be valid.
var MustPlan = nattest.MustPlan

func golden(t *testing.T, name, got string) {
	t.Helper()
	testcfg.Golden(t, filepath.Join("testdata", name), got, *update)
}

func TestPlanGolden(t *testing.T) {
	golden(t, "default.nft", MustPlan(t, DefaultConfig()).Listing(false))
	golden(t, "full.nft", MustPlan(t, fullConfig()).Listing(false))
	golden(t, "ipv4-only.nft", MustPlan(t, DefaultConfig().WithoutIPv6()).Listing(false))
}

// A kernel without IPv6 gets the IPv4 rules of a dual-stack configuration,
// however mixed its subnet lists, and exactly those.
func TestPlanWithoutIPv6(t *testing.T) {
	got := MustPlan(t, fullConfig().WithoutIPv6())
	if len(got.Tables) != 1 || got.Tables[0].Family != IPv4 {
		t.Fatalf("want the ip table only, got %d tables", len(got.Tables))
	}
	dual := MustPlan(t, fullConfig())
	dual.Tables = dual.Tables[:1]
	if d := linediff.Diff(dual.Listing(false), got.Listing(false)); d != "" {
		t.Fatalf("the IPv4 table differs from the dual-stack plan's:\n%s", d)
	}
}

func TestPlanShape(t *testing.T) {
	rs := MustPlan(t, fullConfig())
	if len(rs.Tables) != 2 || rs.Tables[0].Family != IPv4 || rs.Tables[1].Family != IPv6 {
		t.Fatalf("want ip and ip6 tables, got %+v", rs.Tables)
	}
	// Each family gets only its own subnets.
	v4 := rs.Table(IPv4).Set(SetInboundSubnetsIgnore)
	v6 := rs.Table(IPv6).Set(SetInboundSubnetsIgnore)
	if len(v4.Elements) != 2 || len(v6.Elements) != 1 || v4.Key != KeyIPv4 || v6.Key != KeyIPv6 {
		t.Fatalf("subnets split wrongly: v4 %+v v6 %+v", v4, v6)
	}
	// An IPv4-only subnet list leaves the ip6 table without a subnet rule.
	c := DefaultConfig()
	c.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	rs = MustPlan(t, c)
	if rs.Table(IPv6).Set(SetInboundSubnetsIgnore) != nil {
		t.Fatal("ip6 table has an IPv4 subnet set")
	}
	for _, r := range rs.Table(IPv6).Chain(ChainRedirect).Rules {
		if r.Name == "ignore-subnet" {
			t.Fatal("ip6 table has a subnet rule without subnets")
		}
	}
	// uid/gid <= 0 add no exception, as upstream.
	c = DefaultConfig()
	c.ProxyUID, c.ProxyGID = 0, -1
	for _, r := range MustPlan(t, c).Table(IPv4).Chain(ChainOutput).Rules {
		if strings.HasPrefix(r.Name, "ignore-proxy") {
			t.Fatalf("unexpected rule %s", r.Name)
		}
	}
}

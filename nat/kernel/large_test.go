//go:build linux

package kernel_test

import (
	"strings"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// TestLargeConfigurations installs, re-applies, replaces and removes the
// largest configurations: all 65535 ports spread over the port sets, one of
// them the worst case of 32768 disjoint single ports, and 4096 disjoint
// subnets per family in each subnet set. The batches are megabytes long;
// none may fail with ENOBUFS or EMSGSIZE, and remove leaves nothing.
func TestLargeConfigurations(t *testing.T) {
	odd := testcfg.EveryOtherPort(1)  // 1,3,...,65535: 32768 intervals
	even := testcfg.EveryOtherPort(2) // 2,4,...,65534: 32767 intervals
	allPorts := []nat.PortRange{{First: 1, Last: 65535}}

	// A: 32768 disjoint redirected ports, the other 32767 ignored outbound,
	// 4096 subnets per family ignored in each direction.
	a := nat.DefaultConfig()
	a.PortsToRedirect = odd
	a.OutboundPortsToIgnore = even
	a.InboundPortsToIgnore = allPorts
	a.InboundSubnetsToIgnore = testcfg.DisjointSubnets(4096, "10.0.0.0", "fd00::")
	a.OutboundSubnetsToIgnore = testcfg.DisjointSubnets(4096, "10.64.0.0", "fd01::")
	// B: the same sizes with the roles swapped, so that replacing A by B
	// deletes and re-creates every element in one batch.
	b := a
	b.PortsToRedirect, b.OutboundPortsToIgnore = even, odd
	b.InboundSubnetsToIgnore, b.OutboundSubnetsToIgnore = a.OutboundSubnetsToIgnore, a.InboundSubnetsToIgnore

	ns := testns.New(t)
	ns.LoadNft(t, "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n")
	empty := ns.Ruleset(t)
	c := kernel.OpenClient(t, ns)
	rsA, rsB := nattest.MustPlan(t, a), nattest.MustPlan(t, b)
	for _, tbl := range rsA.Tables {
		if n := len(tbl.Set(nat.SetRedirectPorts).Elements); n != 32768 {
			t.Fatalf("%s redirect_ports has %d intervals, want 32768", tbl.Family, n)
		}
		if n := len(tbl.Set(nat.SetInboundSubnetsIgnore).Elements); n != 4096 {
			t.Fatalf("%s inbound_subnets_ignore has %d intervals, want 4096", tbl.Family, n)
		}
	}

	for _, step := range []struct {
		name string
		rs   *nat.Ruleset
		want nat.Outcome
	}{
		{"install", rsA, nat.Installed},
		{"re-apply", rsA, nat.Unchanged},
		{"replace", rsB, nat.Replaced},
	} {
		start := time.Now()
		got, err := c.Apply(t.Context(), step.rs)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got != step.want {
			t.Fatalf("%s: %v, want %v", step.name, got, step.want)
		}
		took := time.Since(start)
		if step.want == nat.Unchanged {
			// Unchanged means the live tables read back equal to the plan.
			t.Logf("%s: %v in %v", step.name, got, took)
			continue
		}
		if d, err := kernel.VerifyText(t.Context(), c, step.rs); err != nil || d != "" {
			t.Fatalf("%s: verify: err %v, diff of %d bytes", step.name, err, len(d))
		}
		t.Logf("%s: %v in %v", step.name, got, took)
	}

	// nft itself reads the same elements back.
	redirect := ns.Run(t, "nft", "list", "set", "ip6", nat.TableName, nat.SetRedirectPorts)
	if !strings.Contains(redirect, "65534") || strings.Contains(redirect, "65535") {
		t.Fatalf("nft does not list the replaced redirect_ports set as the even ports:\n%.400s...", redirect)
	}

	if removed, err := c.Remove(t.Context()); err != nil || !removed {
		t.Fatalf("remove: %v, %v", removed, err)
	}
	if got := ns.Ruleset(t); got != empty {
		t.Fatalf("remove left something (- before, + after):\n%.2000s", linediff.Diff(empty, got))
	}
}

//go:build linux

package kernel_test

import (
	"slices"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// TestKernelBaseChainsListsEveryTable: the one dump explain uses to name
// the other NAT chains on our hooks finds iptables-nft's nat chains, an
// inet table's and a netdev table's, with their families, hooks and
// priorities, and ours among them.
func TestKernelBaseChainsListsEveryTable(t *testing.T) {
	ns := testns.New(t)
	preloadForeign(t, ns)
	ns.LoadNft(t, `table inet mesh {
	chain pre {
		type nat hook prerouting priority -150; policy accept;
	}
}
table netdev edge {
	chain in {
		type filter hook ingress device lo priority 0; policy accept;
	}
}
`)
	c := kernel.OpenClient(t, ns)
	if _, err := c.Apply(t.Context(), nattest.MustPlan(t, nat.DefaultConfig())); err != nil {
		t.Fatal(err)
	}
	chains, err := c.BaseChains(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []nat.BaseChain{
		{Family: "ip", Table: "nat", Chain: "PREROUTING", Type: "nat", Hook: "prerouting", Priority: -100},
		{Family: "ip", Table: "nat", Chain: "OUTPUT", Type: "nat", Hook: "output", Priority: -100},
		{Family: "ip", Table: "nat", Chain: "POSTROUTING", Type: "nat", Hook: "postrouting", Priority: 100},
		{Family: "ip6", Table: "nat", Chain: "OUTPUT", Type: "nat", Hook: "output", Priority: -100},
		{Family: "inet", Table: "filter", Chain: "input", Type: "filter", Hook: "input", Priority: 0},
		{Family: "inet", Table: "mesh", Chain: "pre", Type: "nat", Hook: "prerouting", Priority: -150},
		{Family: "netdev", Table: "edge", Chain: "in", Type: "filter", Hook: "ingress", Priority: 0},
		{Family: "ip", Table: nat.TableName, Chain: nat.ChainPrerouting, Type: "nat", Hook: "prerouting", Priority: -100},
		{Family: "ip6", Table: nat.TableName, Chain: nat.ChainOutputBase, Type: "nat", Hook: "output", Priority: -100},
	} {
		if !slices.Contains(chains, want) {
			t.Errorf("missing %+v in %+v", want, chains)
		}
	}
	for _, ch := range chains {
		if ch.Chain == "APP_NAT" {
			t.Errorf("regular chain listed as a base chain: %+v", ch)
		}
	}
}

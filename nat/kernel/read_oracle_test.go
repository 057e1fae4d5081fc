//go:build linux

package kernel

import (
	"reflect"
	"slices"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/nattest"
	"golang.org/x/sys/unix"
)

// TestReadMatchesGoogleNftables: our one read path (internal/nfnl's dumps,
// expressions decoded with google/nftables' codec) reads every set, element,
// chain and rule of the full configuration, with foreign additions (an
// element with a comment, a range, a rule, a regular and a base chain),
// exactly as google/nftables' own dump requests do, which the client used to
// read with: the same attributes, expressions, handles, comments and order.
// google/nftables is the oracle here only; the product reads without it.
func TestReadMatchesGoogleNftables(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	if _, err := c.Apply(t.Context(), nattest.MustPlan(t, testcfg.Full())); err != nil {
		t.Fatal(err)
	}
	ns.Run(t, "nft", "add", "element", "ip6", nat.TableName, nat.SetOutboundPortsIgnore, `{ 8443 comment "foreign", 30000-30010 }`)
	ns.Run(t, "nft", "insert", "rule", "ip", nat.TableName, nat.ChainOutput, "tcp", "dport", "22", "counter", "return", "comment", `"theirs"`)
	ns.Run(t, "nft", "add", "chain", "ip", nat.TableName, "extra")
	ns.Run(t, "nft", "add", "chain", "ip6", nat.TableName, "post", "{ type nat hook postrouting priority 50; policy accept; }")
	conn, err := nftables.New(nftables.WithNetNSFd(ns.FD()))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := c.sock.Generation()
	if err != nil {
		t.Fatal(err)
	}
	v := c.sock.At(gen)
	sets, chains, rules := 0, 0, 0
	for _, fam := range []nat.Family{nat.IPv4, nat.IPv6} {
		table := &nftables.Table{Name: nat.TableName, Family: nftables.TableFamily(fam)}

		theirSets, err := conn.GetSets(table)
		if err != nil {
			t.Fatal(err)
		}
		ourSets, err := v.Sets(uint8(fam), nat.TableName)
		if err != nil {
			t.Fatal(err)
		}
		if len(ourSets) != len(theirSets) {
			t.Fatalf("%s: %d sets, google/nftables %d", fam, len(ourSets), len(theirSets))
		}
		for i, s := range theirSets {
			o := ourSets[i]
			if o.Name != s.Name || o.KeyType != s.KeyType.GetNFTMagic() || o.KeyLen != s.KeyType.Bytes ||
				(o.Flags&unix.NFT_SET_INTERVAL != 0) != s.Interval || (o.Flags&unix.NFT_SET_CONSTANT != 0) != s.Constant ||
				(o.Flags&unix.NFT_SET_MAP != 0) != s.IsMap || (o.Flags&unix.NFT_SET_TIMEOUT != 0 || o.Timeout) != s.HasTimeout {
				t.Errorf("%s set %d: ours %+v, google/nftables' %+v", fam, i, o, s)
			}
			want, err := conn.GetSetElements(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.SetElements(uint8(fam), nat.TableName, s.Name)
			if err != nil {
				t.Fatal(err)
			}
			same := slices.EqualFunc(want, got, func(w nftables.SetElement, g nfnl.Element) bool {
				return string(w.Key) == string(g.Key) && w.IntervalEnd == g.End
			})
			if !same || len(got) == 0 {
				t.Errorf("%s set %s: ours %v, google/nftables' %v", fam, s.Name, got, want)
			}
			sets++
		}

		theirChains, err := conn.ListChainsOfTableFamily(nftables.TableFamily(fam))
		if err != nil {
			t.Fatal(err)
		}
		ourChains, err := v.Chains(uint8(fam), nat.TableName)
		if err != nil {
			t.Fatal(err)
		}
		ourRules, err := v.Rules(uint8(fam), nat.TableName)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for _, ch := range theirChains {
			if ch.Table.Name != nat.TableName {
				continue
			}
			if i >= len(ourChains) {
				t.Fatalf("%s: google/nftables lists more chains than our %d", fam, len(ourChains))
			}
			o := ourChains[i]
			i++
			if o.Name != ch.Name || o.Base != (ch.Hooknum != nil) || o.Type != string(ch.Type) ||
				(o.Base && (o.Hook != uint32(*ch.Hooknum) || o.Priority != int32(*ch.Priority) || o.Policy != uint32(*ch.Policy))) {
				t.Errorf("%s chain %d: ours %+v, google/nftables' %+v", fam, i, o, ch)
			}
			theirRules, err := conn.GetRules(table, ch)
			if err != nil {
				t.Fatal(err)
			}
			var mine []nfnl.Rule
			for _, r := range ourRules {
				if r.Chain == ch.Name {
					mine = append(mine, r)
				}
			}
			if len(mine) != len(theirRules) {
				t.Fatalf("%s chain %s: %d rules, google/nftables %d", fam, ch.Name, len(mine), len(theirRules))
			}
			for j, r := range theirRules {
				var ex []expr.Any
				for _, e := range mine[j].Exprs {
					ex = append(ex, e.Value)
				}
				if mine[j].Handle != r.Handle || string(mine[j].UserData) != string(r.UserData) || !reflect.DeepEqual(ex, r.Exprs) {
					t.Errorf("%s chain %s rule %d: ours %+v %v, google/nftables' %+v", fam, ch.Name, j, mine[j], ex, r)
				}
				rules++
			}
		}
		if i != len(ourChains) {
			t.Errorf("%s: %d chains, google/nftables %d", fam, len(ourChains), i)
		}
		chains += i
	}
	if sets < 8 || chains < 10 || rules < 20 {
		t.Fatalf("compared %d sets, %d chains, %d rules; the full configuration has more", sets, chains, rules)
	}
}

//go:build linux

package kernel

import (
	"slices"
	"testing"

	"github.com/google/nftables"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// TestSetElementsMatchGoogleNftables: our own element dump (nfnl.SetElements,
// used on the read path for speed) reads every set of the full
// configuration, foreign elements with a comment and a range included,
// exactly as google/nftables' GetSetElements does: the same keys, end
// markers and order.
func TestSetElementsMatchGoogleNftables(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	if _, err := c.Apply(t.Context(), nattest.MustPlan(t, testcfg.Full())); err != nil {
		t.Fatal(err)
	}
	ns.Run(t, "nft", "add", "element", "ip6", nat.TableName, nat.SetOutboundPortsIgnore, `{ 8443 comment "foreign", 30000-30010 }`)
	conn, err := c.reader(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fam := range []nat.Family{nat.IPv4, nat.IPv6} {
		sets, err := conn.GetSets(&nftables.Table{Name: nat.TableName, Family: nftables.TableFamily(fam)})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sets {
			want, err := conn.GetSetElements(s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.sock.SetElements(uint8(fam), nat.TableName, s.Name)
			if err != nil {
				t.Fatal(err)
			}
			same := slices.EqualFunc(want, got, func(w nftables.SetElement, g nfnl.Element) bool {
				return string(w.Key) == string(g.Key) && w.IntervalEnd == g.End
			})
			if !same || len(got) == 0 {
				t.Errorf("%s set %s: ours %v, google/nftables' %v", fam, s.Name, got, want)
			}
			n++
		}
	}
	if n < 8 {
		t.Fatalf("compared %d sets; the full configuration has more", n)
	}
}

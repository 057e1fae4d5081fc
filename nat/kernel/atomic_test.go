//go:build linux

package kernel_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
	"github.com/proxy-init/netlink-native/nat/nattest"
	"golang.org/x/sys/unix"
)

// poisonWhat names the message the atomicity tests append to a batch.
const poisonWhat = "add rule to a chain that does not exist (test poison)"

// poison appends, as the last message of every batch, a rule for a chain
// that exists nowhere, so the kernel refuses the batch at its last message
// (ENOENT) after having processed every message before it.
func poison(b *nfnl.Batch) {
	b.AddRule(uint8(nat.IPv4), nat.TableName, "no-such-chain",
		[]expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictReturn}}, nil, poisonWhat)
}

// otherTables is content that is not ours, so that "unchanged" covers more
// than our own tables.
const otherTables = `table inet filter {
	set trusted {
		type ipv4_addr
		flags interval
		elements = { 10.0.0.0/8, 192.168.0.0/16 }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @trusted tcp dport 22 counter accept
	}
}
`

// snapshotRuleset is the ruleset as nft lists it, without and with handles.
func snapshotRuleset(t *testing.T, ns *testns.NS) string {
	t.Helper()
	return ns.Ruleset(t) + "\n--- with handles ---\n" + ns.Run(t, "nft", "-a", "list", "ruleset")
}

// requirePoisonRefused checks that err is the kernel's refusal of the poison
// message, which is the batch's last: every earlier message was accepted.
func requirePoisonRefused(t *testing.T, err error) {
	t.Helper()
	var ke *nfnl.RefusedError
	if !errors.As(err, &ke) || ke.What != poisonWhat || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("want the kernel to refuse the last (poison) message with ENOENT, got %v", err)
	}
}

func TestAtomicRejectedBatchChangesNothing(t *testing.T) {
	small := nat.DefaultConfig()
	small.PortsToRedirect = []nat.PortRange{{First: 80, Last: 80}, {First: 8080, Last: 8090}}
	big := nat.DefaultConfig()
	big.ProxyGID = 2103
	big.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4191}}
	big.OutboundPortsToIgnore = []nat.PortRange{{First: 443, Last: 443}}
	big.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	big.OutboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}
	v4only := small
	v4only.IPv6 = false

	for _, tc := range []struct {
		name      string
		installed *nat.Config // applied before the refused batch, if any
		apply     *nat.Config // the refused Apply; nil means a refused Remove
	}{
		{"fresh namespace", nil, &small},
		{"fresh namespace, IPv4 only", nil, &v4only},
		{"over an install, replace with more", &small, &big},
		{"over an install, replace with less", &big, &small},
		{"over an install, drop the ip6 table", &big, &v4only},
		{"over an install, add the ip6 table", &v4only, &big},
		{"remove", &big, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := testns.New(t)
			ns.LoadNft(t, otherTables)
			c := kernel.OpenClient(t, ns)
			if tc.installed != nil {
				kernel.MustApply(t, c, nattest.MustPlan(t, *tc.installed))
			}
			before := snapshotRuleset(t, ns)

			calls := 0
			kernel.SetBeforeCommit(c, func(b *nfnl.Batch) {
				calls++
				poison(b)
			})
			var err error
			if tc.apply != nil {
				_, err = c.Apply(t.Context(), nattest.MustPlan(t, *tc.apply))
			} else {
				_, err = c.Remove(t.Context())
			}
			// Over an install, Apply first tries the exclusive fresh-install
			// batch (refused with EEXIST, also without effect), then the
			// replacement, which the poison makes the kernel refuse.
			if calls == 0 {
				t.Fatal("no batch was sent")
			}
			requirePoisonRefused(t, err)
			if after := snapshotRuleset(t, ns); after != before {
				t.Fatalf("ruleset changed although the batch was refused\n--- before ---\n%s\n--- after ---\n%s", before, after)
			}

			// The client still works, and the earlier install, if any, is intact.
			kernel.SetBeforeCommit(c, nil)
			if tc.installed != nil {
				if diff, err := kernel.VerifyText(t.Context(), c, nattest.MustPlan(t, *tc.installed)); err != nil || diff != "" {
					t.Fatalf("earlier install not intact (err %v):\n%s", err, diff)
				}
			} else if live, err := c.Live(t.Context()); err != nil || len(live.Tables) != 0 {
				t.Fatalf("fresh namespace has our tables after a refused batch (err %v): %v", err, live)
			}
			if tc.apply != nil {
				rs := nattest.MustPlan(t, *tc.apply)
				kernel.MustApply(t, c, rs)
				if diff, err := kernel.VerifyText(t.Context(), c, rs); err != nil || diff != "" {
					t.Fatalf("apply after the refused batch: err %v, diff:\n%s", err, diff)
				}
			}
			if !strings.Contains(ns.Ruleset(t), "table inet filter") {
				t.Fatal("the inet filter table went missing")
			}
		})
	}
}

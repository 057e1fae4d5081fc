//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"testing"

	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/nattest"
	"golang.org/x/sys/unix"
)

// TestReplaceBuiltFromTheRulesetBeforeACommitIsRetried: a replacement built
// from a read that showed the ruleset as it was just before the commit that
// made the generation it read (the kernel publishes a new generation id a
// moment before dumps show that generation; see readBeforeCommitShowed) is
// refused, although its generation matches, for a table it deletes that is
// already gone (ENOENT: what one of 8 racing processes once exited with) or
// a chain it creates in a table the read did not show (EEXIST). Such a read
// cannot be made on demand, so the test makes the first batch look like one
// built from it; Apply and Remove must read again and succeed.
func TestReplaceBuiltFromTheRulesetBeforeACommitIsRetried(t *testing.T) {
	v4only := nat.DefaultConfig()
	v4only.IPv6 = false
	for _, tc := range []struct {
		name      string
		installed nat.Config
		stale     func(b *nfnl.Batch)
	}{
		{"table already deleted", nat.DefaultConfig(), func(b *nfnl.Batch) {
			// A table the read listed, gone by the time of the batch.
			b.DelTable(uint8(nat.IPv4), "vanished")
		}},
		{"chain already created", v4only, func(b *nfnl.Batch) {
			// The ip6 table the read did not show, with a chain the batch
			// creates already in it.
			b.AddChain(uint8(nat.IPv6), nat.TableName, "twice", nil)
			b.AddChain(uint8(nat.IPv6), nat.TableName, "twice", nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := testns.New(t)
			c := OpenClient(t, ns)
			MustApply(t, c, nattest.MustPlan(t, tc.installed))
			other := nat.DefaultConfig()
			other.ProxyUID = 1000
			rs := nattest.MustPlan(t, other)
			batches := 0
			c.beforeCommit = func(b *nfnl.Batch) {
				if batches++; batches == 1 {
					tc.stale(b)
				}
			}
			if out := MustApply(t, c, rs); out != nat.Replaced || batches != 2 {
				t.Fatalf("Apply: %v after %d batches, want replaced after 2 (the refused one, then one after reading again)", out, batches)
			}
			if d, err := VerifyText(t.Context(), c, rs); err != nil || d != "" {
				t.Fatalf("verify: %v\n%s", err, d)
			}
		})
	}
	t.Run("remove", func(t *testing.T) {
		ns := testns.New(t)
		c := OpenClient(t, ns)
		MustApply(t, c, nattest.MustPlan(t, nat.DefaultConfig()))
		batches := 0
		c.beforeCommit = func(b *nfnl.Batch) {
			if batches++; batches == 1 {
				b.DelTable(uint8(nat.IPv4), "vanished")
			}
		}
		if removed, err := c.Remove(t.Context()); err != nil || !removed || batches != 2 {
			t.Fatalf("Remove: %v, %v after %d batches; want removed after 2", removed, err, batches)
		}
	})
}

// TestReadBeforeCommitShowedOnlyWhereARaceCanExplainIt: an EEXIST where the
// read showed every table the batch creates (each is deleted first) is the
// Ruleset naming something twice, reported at once, not retried 20 times.
func TestReadBeforeCommitShowedOnlyWhereARaceCanExplainIt(t *testing.T) {
	both := nattest.MustPlan(t, nat.DefaultConfig())
	v4 := nat.DefaultConfig()
	v4.IPv6 = false
	ip := nattest.MustPlan(t, v4)
	refused := func(msg int, errno unix.Errno) error {
		return fmt.Errorf("commit: %w", &nfnl.RefusedError{What: "x", Msg: msg, Errno: errno})
	}
	for _, tc := range []struct {
		err      error
		rs, live *nat.Ruleset
		want     bool
	}{
		{refused(unix.NFT_MSG_DELTABLE, unix.ENOENT), both, both, true},
		{refused(unix.NFT_MSG_DELTABLE, unix.ENOENT), nil, both, true},
		{refused(unix.NFT_MSG_NEWCHAIN, unix.EEXIST), both, ip, true},
		{refused(unix.NFT_MSG_NEWSET, unix.EEXIST), both, &nat.Ruleset{}, true},
		{refused(unix.NFT_MSG_NEWCHAIN, unix.EEXIST), both, both, false},
		{refused(unix.NFT_MSG_NEWCHAIN, unix.EEXIST), ip, both, false},
		{refused(unix.NFT_MSG_NEWRULE, unix.ENOENT), both, ip, false},
		{refused(unix.NFT_MSG_DELTABLE, unix.EPERM), both, both, false},
		{errors.New("other"), both, ip, false},
	} {
		if got := readBeforeCommitShowed(tc.err, tc.rs, tc.live); got != tc.want {
			t.Errorf("%v (plan %v, read %d tables): %v, want %v", tc.err, tc.rs != nil, len(tc.live.Tables), got, tc.want)
		}
	}
}

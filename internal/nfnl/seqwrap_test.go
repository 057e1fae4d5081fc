package nfnl

import (
	"errors"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/testns"
	"golang.org/x/sys/unix"
)

func TestInBatchAcrossTheWrap(t *testing.T) {
	for _, tc := range []struct {
		seq, first, end uint32
		want            bool
	}{
		{10, 10, 20, true}, {20, 10, 20, true}, {15, 10, 20, true},
		{9, 10, 20, false}, {21, 10, 20, false},
		// first just below 2^32, end past the wrap.
		{1<<32 - 2, 1<<32 - 2, 3, true}, {1<<32 - 1, 1<<32 - 2, 3, true},
		{0, 1<<32 - 2, 3, true}, {3, 1<<32 - 2, 3, true},
		{4, 1<<32 - 2, 3, false}, {1<<32 - 3, 1<<32 - 2, 3, false},
	} {
		if got := inBatch(tc.seq, tc.first, tc.end); got != tc.want {
			t.Errorf("inBatch(%d, %d, %d) = %v, want %v", tc.seq, tc.first, tc.end, got, tc.want)
		}
	}
}

// TestCommitAcrossTheSequenceWrap commits batches whose sequence numbers
// straddle 2^32 (the socket's numbers start from the clock, so this happens
// in the field): the acknowledgement must be matched, and a refused
// message must still be named. The receive timeout is shortened so that a
// lost reply fails the test in seconds rather than after the default 30.
func TestCommitAcrossTheSequenceWrap(t *testing.T) {
	ns := testns.New(t)
	open := func(t *testing.T) *Socket {
		s, err := Open(int(ns.File().Fd()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		tv := unix.NsecToTimeval(int64(3 * time.Second))
		if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			t.Fatal(err)
		}
		// The begin message gets 2^32-2; the messages 2^32-1, 0, 1, ...
		s.seq = 1<<32 - 3
		return s
	}

	t.Run("accepted", func(t *testing.T) {
		s := open(t)
		var b Batch
		b.AddTable(unix.NFPROTO_IPV4, "wrap", true)
		for _, c := range []string{"a", "b", "c", "d"} {
			b.AddChain(unix.NFPROTO_IPV4, "wrap", c, nil)
		}
		if err := s.Commit(&b, 0); err != nil {
			t.Fatalf("commit across the wrap: %v", err)
		}
		if out := ns.Run(t, "nft", "list", "chain", "ip", "wrap", "d"); out == "" {
			t.Fatal("the batch was not applied")
		}
	})
	t.Run("refused after the wrap", func(t *testing.T) {
		s := open(t)
		var b Batch
		b.AddTable(unix.NFPROTO_IPV4, "wrap2", true)
		b.AddChain(unix.NFPROTO_IPV4, "wrap2", "a", nil)
		b.AddChain(unix.NFPROTO_IPV4, "nosuch", "b", nil) // seq 1: ENOENT
		b.AddChain(unix.NFPROTO_IPV4, "wrap2", "c", nil)
		err := s.Commit(&b, 0)
		var ke *RefusedError
		if !errors.As(err, &ke) || ke.Errno != unix.ENOENT || ke.What != "create chain nosuch b" {
			t.Fatalf("commit = %v, want ENOENT naming \"create chain nosuch b\"", err)
		}
	})
}

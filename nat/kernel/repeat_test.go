//go:build linux

package kernel_test

import (
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// usage is what a long-lived library user holds: descriptors, OS threads
// and live heap.
type usage struct {
	fds, threads int
	heap         uint64
}

func measure(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	threads := -1
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return usage{fds: len(ents), threads: threads, heap: ms.HeapAlloc}
}

// requireNoGrowth fails when descriptors, threads or heap grew by more than
// noise between two measurements around n operations.
func requireNoGrowth(t *testing.T, what string, n int, before, after usage) {
	t.Helper()
	const heapSlack = 256 << 10 // noise is ~25 KiB; 200 leaked batches or receive buffers would be megabytes
	t.Logf("%s x%d: fds %d -> %d, threads %d -> %d, heap %d -> %d bytes",
		what, n, before.fds, after.fds, before.threads, after.threads, before.heap, after.heap)
	if after.fds > before.fds {
		t.Errorf("%s x%d: open descriptors grew from %d to %d", what, n, before.fds, after.fds)
	}
	if after.threads > before.threads+2 {
		t.Errorf("%s x%d: OS threads grew from %d to %d", what, n, before.threads, after.threads)
	}
	if after.heap > before.heap+heapSlack {
		t.Errorf("%s x%d: live heap grew from %d to %d bytes", what, n, before.heap, after.heap)
	}
}

// TestRepeatApplyIsStableAndDoesNotLeak applies the same configuration 200
// times through one long-lived client: the listing stays identical and the
// process's descriptors, threads and heap do not grow. Then it does the same
// for reconfiguring back and forth, verify/remove cycles and clients opened
// and closed, as a daemon embedding the library would.
func TestRepeatApplyIsStableAndDoesNotLeak(t *testing.T) {
	ns := testns.New(t)
	cfg := nat.DefaultConfig()
	cfg.ProxyGID = 2103
	cfg.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4191}}
	cfg.OutboundPortsToIgnore = []nat.PortRange{{First: 25, Last: 25}, {First: 443, Last: 443}}
	cfg.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cfg.OutboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("2001:db8::/32")}
	rs := nattest.MustPlan(t, cfg)
	other := nattest.MustPlan(t, nat.DefaultConfig())

	c := kernel.OpenClient(t, ns)
	if got := kernel.MustApply(t, c, rs); got != nat.Installed {
		t.Fatalf("first apply: %v, want installed", got)
	}
	first := ns.Ruleset(t)
	// Warm up: the reading connection, buffers and the runtime's pools.
	for range 5 {
		kernel.MustApply(t, c, rs)
	}

	const n = 200
	before := measure(t)
	for i := range n {
		if got := kernel.MustApply(t, c, rs); got != nat.Unchanged {
			t.Fatalf("apply %d: %v, want unchanged", i+2, got)
		}
		if i%50 == 49 {
			if got := ns.Ruleset(t); got != first {
				t.Fatalf("after %d applies the listing changed (- first, + now):\n%s", i+1, linediff.Diff(first, got))
			}
		}
	}
	after := measure(t)
	requireNoGrowth(t, "apply (unchanged)", n, before, after)
	if got := ns.Ruleset(t); got != first {
		t.Fatalf("after %d applies the listing changed (- first, + now):\n%s", n, linediff.Diff(first, got))
	}

	// Reconfiguring back and forth: every apply is a replacement batch.
	const swaps = 40
	before = measure(t)
	for i := range swaps {
		want := other
		if i%2 == 1 {
			want = rs
		}
		if got := kernel.MustApply(t, c, want); got != nat.Replaced {
			t.Fatalf("swap %d: %v, want replaced", i, got)
		}
	}
	after = measure(t)
	requireNoGrowth(t, "apply (replace)", swaps, before, after)
	if got := ns.Ruleset(t); got != first {
		t.Fatalf("after reconfiguring back the listing differs from the first install:\n%s", linediff.Diff(first, got))
	}

	// Verify, remove and install again.
	const cycles = 40
	before = measure(t)
	for i := range cycles {
		if d, err := kernel.VerifyText(t.Context(), c, rs); err != nil || d != "" {
			t.Fatalf("cycle %d: verify: err %v, diff:\n%s", i, err, d)
		}
		if removed, err := c.Remove(t.Context()); err != nil || !removed {
			t.Fatalf("cycle %d: remove: %v, %v", i, removed, err)
		}
		if got := kernel.MustApply(t, c, rs); got != nat.Installed {
			t.Fatalf("cycle %d: apply after remove: %v, want installed", i, got)
		}
	}
	after = measure(t)
	requireNoGrowth(t, "verify+remove+apply", cycles, before, after)

	// Clients opened (alternately by descriptor and by path, which the
	// client opens and must close), used for every operation and closed.
	before = measure(t)
	for i := range cycles {
		target := kernel.AtFD(ns.FD())
		if i%2 == 1 {
			target = kernel.AtPath(ns.Path())
		}
		cc, err := kernel.Open(t.Context(), target, kernel.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := cc.Apply(t.Context(), rs); err != nil || got != nat.Unchanged {
			t.Fatalf("client %d: apply: %v, %v", i, got, err)
		}
		if _, err := cc.Live(t.Context()); err != nil {
			t.Fatalf("client %d: live: %v", i, err)
		}
		if err := cc.Close(); err != nil {
			t.Fatalf("client %d: close: %v", i, err)
		}
	}
	after = measure(t)
	requireNoGrowth(t, "Open+Apply+Live+Close", cycles, before, after)
	if got := ns.Ruleset(t); got != first {
		t.Fatalf("the listing changed:\n%s", linediff.Diff(first, got))
	}
}

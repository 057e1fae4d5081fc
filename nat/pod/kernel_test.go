//go:build linux

package pod_test

import (
	"context"
	"os"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// TestRunOnTheKernel: the namespace by open file and by path; a path that
// is not a namespace is a configuration error naming --netns, and both
// together are refused.
func TestRunOnTheKernel(t *testing.T) {
	ctx := context.Background()
	cfg := nat.DefaultConfig()
	ns := testns.New(t)
	rep, err := pod.Run(ctx, pod.Request{Config: cfg, NetNSFile: ns.File()})
	if err != nil || rep.Outcome != nat.Installed {
		t.Fatalf("by file: %v, %v", rep.Outcome, err)
	}
	if got := ns.Ruleset(t); got != rep.Plan.Listing(false) {
		t.Fatalf("by file: the namespace holds:\n%s", got)
	}
	rep, err = pod.Run(ctx, pod.Request{Op: pod.Verify, Config: cfg, NetNS: ns.Path()})
	if err != nil || !rep.Changes.Empty() {
		t.Fatalf("verify by path: %v, diff:\n%s", err, rep.Diff)
	}
	dir := t.TempDir()
	if _, err := pod.Run(ctx, pod.Request{Config: cfg, NetNS: dir}); !nat.IsConfig(err) {
		t.Fatalf("a directory as --netns: %v, want a configuration error", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := pod.Run(ctx, pod.Request{Config: cfg, NetNSFile: f}); nat.OpOf(err) != nat.OpOpenNamespace {
		t.Fatalf("a directory as NetNSFile: %v", err)
	}
	if _, err := pod.Run(ctx, pod.Request{Config: cfg, NetNS: ns.Path(), NetNSFile: ns.File()}); err == nil {
		t.Fatal("NetNS and NetNSFile together must be refused")
	}
}

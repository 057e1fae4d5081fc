//go:build linux

package pod_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// TestOperationsOnTheKernel: the namespace by open file and by path; a path
// that is not a namespace is a configuration error of field FieldNetNS (a
// front end names it --netns or CNI_NETNS), a file that is not one is the
// kernel's refusal to enter it, and a nil file is refused.
func TestOperationsOnTheKernel(t *testing.T) {
	ctx := context.Background()
	cfg := nat.DefaultConfig()
	ns := testns.New(t)
	rep, err := pod.Apply(ctx, pod.AtFile(ns.File()), cfg, pod.ApplyOptions{})
	if err != nil || rep.Outcome != nat.Installed {
		t.Fatalf("by file: %v, %v", rep, err)
	}
	if got := ns.Ruleset(t); got != rep.Plan.Listing(false) {
		t.Fatalf("by file: the namespace holds:\n%s", got)
	}
	ver, err := pod.Verify(ctx, pod.AtPath(ns.Path()), cfg)
	if err != nil || !ver.Changes.Empty() {
		t.Fatalf("verify by path: %v, diff:\n%s", err, ver.Changes)
	}
	dir := t.TempDir()
	_, err = pod.Apply(ctx, pod.AtPath(dir), cfg, pod.ApplyOptions{})
	var ce *nat.ConfigError
	if !errors.As(err, &ce) || ce.Field != nat.FieldNetNS || ce.Value != dir {
		t.Fatalf("a directory as the namespace path: %v, want a configuration error of FieldNetNS", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := pod.Remove(ctx, pod.AtFile(f)); nat.OpOf(err) != nat.OpOpenNamespace {
		t.Fatalf("a directory as the namespace file: %v", err)
	}
	if _, err := pod.Show(ctx, pod.AtFile(nil)); err == nil {
		t.Fatal("AtFile(nil) must be refused")
	}
}

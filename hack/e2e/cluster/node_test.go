package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNodeNamespaces boots only the node's namespaces (no Kubernetes
// binaries needed) and checks what every daemon relies on: the node IP on
// its bridge, a private /run, /var/lib bound to the run directory, the
// cgroup hierarchies visible, the sysctl files in place; and that nothing
// of it shows on the host, before or after.
func TestNodeNamespaces(t *testing.T) {
	requireRoot(t)
	before, err := SnapshotHost()
	if err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	if err := os.MkdirAll(filepath.Join(run, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	n, err := startNode(context.Background(), run, nodeIP)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, check := range []struct {
		args []string
		want string
	}{
		{[]string{"ip", "-4", "addr", "show", "node0"}, "inet " + nodeIP + "/24"},
		{[]string{"cat", "/proc/sys/kernel/panic"}, "10"},
		{[]string{"cat", "/proc/sys/vm/overcommit_memory"}, "1"},
		{[]string{"sh", "-c", "ls /sys/fs/cgroup; ls /sys/class/net"}, "memory"},
		{[]string{"sh", "-c", "touch /run/e2e-probe /var/lib/e2e-probe && ls /run /var/lib"}, "e2e-probe"},
	} {
		out, err := n.Run(ctx, check.args[0], check.args[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), check.want) {
			t.Errorf("%v in the node: %q lacks %q", check.args, out, check.want)
		}
	}
	if !fileExists(filepath.Join(run, "varlib", "e2e-probe")) || fileExists("/run/e2e-probe") || fileExists("/var/lib/e2e-probe") {
		t.Errorf("/run or /var/lib writes in the node did not land in the run directory only")
	}
	during, _ := SnapshotHost()
	if d, _ := Attributable(before.Diff(during)); len(d) > 0 {
		t.Errorf("the host changed while the node ran: %v", d)
	}
	n.stop()
	for processAlive(n.PID()) {
		time.Sleep(10 * time.Millisecond)
	}
	after, _ := SnapshotHost()
	if d, _ := Attributable(before.Diff(after)); len(d) > 0 {
		t.Errorf("the host changed: %v", d)
	}
}

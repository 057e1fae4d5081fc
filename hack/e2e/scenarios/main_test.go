// Package scenarios runs the real-cluster end-to-end scenarios: pods
// created through a real API server, started by a real kubelet through
// containerd, their traffic checked from inside the node. One cluster per
// test binary (TestMain); the scenarios are subtests. The host's state is
// recorded before the run and compared after teardown.
package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/hack/e2e/cluster"
	"github.com/proxy-init/netlink-native/hack/e2e/images"
)

var (
	c    *cluster.Cluster
	imgs *images.Built
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "" {
			fmt.Println("scenarios: skipped, not root (the node needs namespaces, mounts and cgroups); CI=true makes this a failure")
			os.Exit(0)
		}
		fmt.Println("scenarios: must run as root under CI")
		os.Exit(1)
	}
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	before, err := cluster.SnapshotHost()
	if err != nil {
		fmt.Println("scenarios:", err)
		return 1
	}
	defer func() {
		after, err := cluster.SnapshotHost()
		if err != nil {
			fmt.Println("scenarios:", err)
			code = 1
			return
		}
		ours, others := cluster.Attributable(before.Diff(after))
		for _, l := range others {
			fmt.Println("scenarios: the host changed, not by this run (another process on the machine):", l)
		}
		if len(ours) > 0 {
			fmt.Println("scenarios: the host changed during the run:")
			for _, l := range ours {
				fmt.Println("  ", l)
			}
			code = 1
		} else {
			fmt.Printf("scenarios: host unchanged (%d netns, %d interfaces, %d mounts, %d cgroups, %d sysctls compared)\n",
				len(after.NetNS), len(after.Interfaces), len(after.Mounts), len(after.Cgroups), len(after.Sysctls))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "proxy-init-e2e-images-")
	if err != nil {
		fmt.Println("scenarios:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if imgs, err = images.Build(ctx, dir, os.Stderr); err != nil {
		fmt.Println("scenarios:", err)
		return 1
	}
	c, err = cluster.Start(ctx, cluster.Options{SandboxImage: images.Pause, Images: []string{imgs.Archive},
		CNIPlugins: map[string]string{cniPluginName: imgs.CNIPlugin()}})
	if err != nil {
		fmt.Println("scenarios:", err)
		return 1
	}
	defer func() {
		if code != 0 {
			logs := filepath.Join(os.TempDir(), fmt.Sprintf("proxy-init-e2e-logs-%d", os.Getpid()))
			if err := c.SaveLogs(logs); err == nil {
				fmt.Println("scenarios: the cluster's logs are in", logs)
			}
		}
		if err := c.Stop(); err != nil {
			fmt.Println("scenarios: stop:", err)
			code = 1
		}
	}()
	return m.Run()
}

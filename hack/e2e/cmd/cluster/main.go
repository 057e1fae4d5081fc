// Command cluster boots the real-cluster test node for a developer:
//
//	go run ./cmd/cluster up      # build (once), boot, print how to reach it, Ctrl-C tears down
//	go run ./cmd/cluster build   # only build the binaries into the cache
//	go run ./cmd/cluster sweep   # remove what a killed run left behind
//
// Run it as root from hack/e2e. The API server listens only inside the
// node's network namespace: use the printed nsenter line.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/proxy-init/netlink-native/hack/e2e/cluster"
	"github.com/proxy-init/netlink-native/hack/e2e/images"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: cluster up|build|sweep")
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "build":
		var b *cluster.Bins
		if b, err = cluster.Binaries(ctx, os.Stderr); err == nil {
			fmt.Println(b.Dir)
		}
	case "sweep":
		err = cluster.Sweep(os.Stderr)
	case "up":
		err = up(ctx)
	default:
		fmt.Fprintf(os.Stderr, "cluster: unknown command %q (up, build or sweep)\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func up(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "proxy-init-e2e-images-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	imgs, err := images.Build(ctx, tmp, os.Stderr)
	if err != nil {
		return err
	}
	c, err := cluster.Start(ctx, cluster.Options{SandboxImage: images.Pause, Images: []string{imgs.Archive},
		CNIPlugins: map[string]string{"proxy-init-cni": imgs.CNIPlugin()}})
	if err != nil {
		return err
	}
	defer c.Stop()
	fmt.Printf("KUBECONFIG=%s\n", c.Kubeconfig())
	fmt.Printf("kubectl: nsenter -t %d -m -n %s --kubeconfig %s get pods -A\n", c.Node().PID(), c.Bins().Kubectl, c.Kubeconfig())
	fmt.Printf("logs: %s\nCNI conf dir: %s\nCtrl-C tears it all down.\n", filepath.Join(c.Dir(), "logs"), c.CNIConfDir())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return c.Stop()
}

// Command repairbench measures proxy-init-cni-repair against a real API
// server: the time from a validator's exit-95 status (written as a kubelet
// writes it) to the pod deleted, and the controller's resident memory with
// many meshed pods on its node and many more in the cluster. The lead runs
// it on the e2e cluster:
//
//	go run ./repairbench --kubeconfig KUBECONFIG --binary ../bin/proxy-init-cni-repair
//
// It creates a namespace and two Node objects with no kubelet behind them
// (so nothing but this program writes the pods' statuses; the pods
// tolerate the taints the node controller puts on such nodes), N pods bound
// to the measured node and M to the other, then runs the built controller
// as a subprocess for the measured node and fails pods one at a time. It
// deletes everything it created at the end (the namespace, the nodes).
// It touches nothing else in the cluster and nothing on this machine
// beyond the subprocess and a loopback admin port.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

type params struct {
	kubeconfig, binary, namespace, node, otherNode, adminAddr string
	onNode, elsewhere, samples, concurrency                   int
	interval                                                  time.Duration
	keep, burst                                               bool
}

func main() {
	var p params
	flag.StringVar(&p.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster (required)")
	flag.StringVar(&p.binary, "binary", "bin/proxy-init-cni-repair", "the built controller")
	flag.StringVar(&p.namespace, "namespace", "repairbench", "namespace created (and deleted) for the pods")
	flag.StringVar(&p.node, "node", "repairbench-node", "Node object created for the measured pods (no kubelet)")
	flag.StringVar(&p.otherNode, "other-node", "repairbench-other", "Node object created for the rest of the cluster's pods")
	flag.StringVar(&p.adminAddr, "admin-addr", "127.0.0.1:19990", "the controller's admin address")
	flag.IntVar(&p.onNode, "pods-on-node", 1000, "meshed pods on the measured node")
	flag.IntVar(&p.elsewhere, "pods-elsewhere", 9000, "meshed pods on the other node (10,000 in the cluster with the default 1,000)")
	flag.IntVar(&p.samples, "samples", 100, "pods failed one at a time, for the latency")
	flag.IntVar(&p.concurrency, "concurrency", 32, "concurrent requests while creating the pods")
	flag.DurationVar(&p.interval, "interval", 50*time.Millisecond, "pause between samples")
	flag.BoolVar(&p.keep, "keep", false, "keep the namespace and nodes")
	flag.BoolVar(&p.burst, "burst", false, "then fail all the node's other pods at once (a node boot) and time until all are deleted")
	flag.Parse()
	if p.kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "repairbench: --kubeconfig is required")
		os.Exit(2)
	}
	if p.samples > p.onNode {
		fmt.Fprintf(os.Stderr, "repairbench: --samples %d exceeds --pods-on-node %d\n", p.samples, p.onNode)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, p); err != nil {
		fmt.Fprintln(os.Stderr, "repairbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, p params) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", p.kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig %q: %w", p.kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	c := &cluster{client: client, p: p}
	if !p.keep {
		defer c.cleanup()
	}
	start := time.Now()
	if err := c.setup(ctx); err != nil {
		return err
	}
	fmt.Printf("setup: %d pods on %s, %d on %s, in %v\n", p.onNode, p.node, p.elsewhere, p.otherNode, time.Since(start).Round(time.Millisecond))

	ctl, err := startController(ctx, p)
	if err != nil {
		return err
	}
	defer ctl.stop()
	if err := ctl.waitReady(ctx, 2*time.Minute); err != nil {
		return err
	}
	rssSynced, _ := ctl.rss()
	fmt.Printf("controller ready after %v; RSS %.1f MiB\n", ctl.readyAfter.Round(time.Millisecond), mib(rssSynced))

	lat, err := c.measure(ctx)
	if err != nil {
		return err
	}
	rssAfter, _ := ctl.rss()
	fmt.Printf("exit-95 status -> pod deleted, %d samples: p50 %v, p90 %v, max %v\n", len(lat),
		quantile(lat, 0.5), quantile(lat, 0.9), quantile(lat, 1))
	fmt.Printf("controller RSS: %.1f MiB after sync, %.1f MiB after the samples (%d meshed pods on its node, %d in the cluster)\n",
		mib(rssSynced), mib(rssAfter), p.onNode, p.onNode+p.elsewhere)
	if p.burst {
		n, took, err := c.burst(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("burst: %d pods failed at once, all deleted in %v (%.0f pods/s)\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	}
	fmt.Println("controller metrics:")
	for _, l := range ctl.metrics("linkerd_cni_repair_controller_pods_deleted_total", "linkerd_cni_repair_controller_pods_delete_errors_total",
		"linkerd_cni_repair_controller_queue_overflow_total", "linkerd_cni_repair_controller_pods_delete_latency_seconds_sum",
		"linkerd_cni_repair_controller_events_publish_errors_total", "linkerd_cni_repair_controller_events_publish_latency_seconds_count",
		"process_resident_memory_bytes") {
		fmt.Println("  " + l)
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

var errNotReady = errors.New("the controller did not become ready")

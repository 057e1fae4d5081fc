// Command proxy-init-cni-repair is the repair controller, a drop-in for
// upstream Linkerd's linkerd-cni-repair-controller (a sidecar of the CNI
// DaemonSet): it watches its node's meshed pods and repairs those whose
// linkerd-network-validator exited 95 because the CNI plugin was not in
// place when they were created, by deleting them (the default) or, with
// --repair-mode=in-place, by installing their rules from the node. The
// logic is in internal/repair; this file wires flags, logging, the
// Kubernetes client and the admin server.
//
// Exit codes: 0 after SIGTERM or SIGINT; 1 when it cannot run (the admin
// address cannot be bound); 2 for bad input (a
// flag or variable's value, a kubeconfig that cannot be loaded), with one
// line naming the flag and the value.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/proxy-init/netlink-native/internal/logging"
	"github.com/proxy-init/netlink-native/internal/repair"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	s, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "proxy-init-cni-repair: "+err.Error())
		return 2
	}
	// Signals are ours from here on: a SIGTERM during start-up (the kubelet
	// stopping a pod that just started) is a clean exit 0, not the default
	// death by signal.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := newLogger(stderr, s)
	// client-go logs through klog (a watch cut, a retried request): one
	// format, one level on stderr, not klog's own lines among ours.
	klog.SetSlogLogger(log.With("source", "client-go"))
	cfg, err := restConfig(s.kubeconfig, s.context)
	if err != nil {
		fmt.Fprintf(stderr, "proxy-init-cni-repair: --kubeconfig %q --context %q: %v\n", s.kubeconfig, s.context, err)
		return 2
	}
	kube, err := repair.NewKube(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "proxy-init-cni-repair: --kubeconfig %q: %v\n", s.kubeconfig, err)
		return 2
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := repair.Options{
		NodeName: s.nodeName, ControllerPodName: s.podName, Mode: s.mode,
		Metrics: repair.NewMetrics(reg), Logger: log,
	}
	if s.mode == repair.ModeInPlace {
		cri, err := repair.DialCRI(s.criSocket)
		if err != nil {
			fmt.Fprintf(stderr, "proxy-init-cni-repair: --cri-socket: %v\n", err)
			return 2
		}
		defer cri.Close()
		opts.InPlace = repair.InPlaceOptions{CNIConfig: s.cniConfig, Sandboxes: cri}
	}
	c, err := repair.New(kube, opts)
	if err != nil {
		fmt.Fprintf(stderr, "proxy-init-cni-repair: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", s.adminAddr)
	if err != nil {
		log.Error("cannot serve the admin endpoints", "addr", s.adminAddr, "error", err)
		return 1
	}
	srv := &http.Server{Handler: repair.AdminHandler(reg, c.Ready), ReadHeaderTimeout: 2 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("admin server listening", "addr", ln.Addr().String())

	c.Run(ctx)
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	log.Info("shut down")
	return 0
}

// restConfig is client-go's standard loading: --kubeconfig, else
// $KUBECONFIG or ~/.kube/config, else the in-cluster configuration (the
// pod's service account). The rate limit is raised from client-go's 5/s:
// after a node boot every meshed pod may need a delete and an event at once.
func restConfig(kubeconfig, kubecontext string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubecontext}).ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "proxy-init-cni-repair"
	return cfg, nil
}

// newLogger is the front ends' one log setup (UTC times), plain or JSON.
func newLogger(w io.Writer, s *settings) *slog.Logger {
	return logging.New(w, s.logLevel, s.logFormat == "json")
}

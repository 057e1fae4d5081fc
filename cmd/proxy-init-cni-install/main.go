// Command proxy-init-cni-install is the node installer of the CNI plugin, a
// drop-in for linkerd-cni's linkerd2-cni-install: the same environment, the
// same files on the node. It runs as the DaemonSet's container until
// SIGTERM or SIGINT, then removes what it added and exits 0. The logic is
// in internal/cniinstall; this file reads flags and environment and sets
// up logging.
//
// Exit codes: 0 after a clean removal; 1 for a bad flag or setting (one
// line naming it, nothing on the node touched), a failed installation or
// a failed removal.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/proxy-init/netlink-native/internal/cniinstall"
	"github.com/proxy-init/netlink-native/internal/logging"
	"github.com/spf13/pflag"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stderr)) }

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := pflag.NewFlagSet("proxy-init-cni-install", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	level := fs.String("log-level", "info", "debug, info, warn or error (logrus's trace, warning, fatal and panic are accepted)")
	format := fs.String("log-format", "plain", "plain or json")
	saDir := fs.String("service-account-dir", cniinstall.DefaultServiceAccountDir, "the directory of the service account's token and ca.crt")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 1
	}
	log, err := newLogger(stderr, *format, *level)
	if err != nil {
		fmt.Fprintln(stderr, "proxy-init-cni-install:", err)
		return 1
	}
	cfg, err := cniinstall.Load(getenv, *saDir)
	if err != nil {
		log.Error("refusing to start: " + err.Error())
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	in := cniinstall.New(cfg, log)
	code := 0
	if err := in.Run(ctx); err != nil {
		log.Error("installation failed; removing what was installed", "error", err.Error())
		code = 1
	} else {
		log.Info("stopping; removing what was installed")
	}
	if err := in.Remove(); err != nil {
		log.Error("removal failed", "error", err.Error())
		return 1
	}
	return code
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	lv, err := logging.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("invalid value %q for --log-level: must be debug, info, warn or error", level)
	}
	switch format {
	case "json", "plain", "":
		return logging.New(w, lv, format == "json"), nil
	}
	return nil, fmt.Errorf("invalid value %q for --log-format: must be plain or json", format)
}

package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/proxy-init/netlink-native/internal/logging"
	"github.com/proxy-init/netlink-native/internal/repair"
	"github.com/spf13/pflag"
)

// envPrefix is upstream's prefix of the environment variables that stand
// in for flags.
const envPrefix = "LINKERD_CNI_REPAIR_CONTROLLER_"

// settings are the parsed command line.
type settings struct {
	nodeName, podName    string
	logLevel             slog.Level
	logFormat            string
	adminAddr            string
	kubeconfig, context  string
	mode                 repair.Mode
	cniConfig, criSocket string
}

// usageError is bad input: a flag or variable with a bad value (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &usageError{fmt.Sprintf(format, a...)}
}

// envNames maps flags to the variables that set them when the flag is not
// given: upstream's four, and ours named the same way.
var envNames = map[string]string{
	"node-name":           envPrefix + "NODE_NAME",
	"controller-pod-name": envPrefix + "POD_NAME",
	"log-level":           envPrefix + "LOG_LEVEL",
	"log-format":          envPrefix + "LOG_FORMAT",
	"admin-addr":          envPrefix + "ADMIN_ADDR",
	"repair-mode":         envPrefix + "REPAIR_MODE",
	"cni-config":          envPrefix + "CNI_CONFIG",
	"cri-socket":          envPrefix + "CRI_SOCKET",
}

// parseFlags reads args, then the environment for flags not given (a flag
// wins over its variable), and checks every value. Errors are *usageError and
// name the flag or variable and the value.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*settings, error) {
	fs := pflag.NewFlagSet("proxy-init-cni-repair", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	var level, mode string
	fs.StringVar(&s.nodeName, "node-name", "", "the node whose pods are watched (required; env "+envNames["node-name"]+")")
	fs.StringVar(&s.podName, "controller-pod-name", "", "this controller's pod, the events' reportingInstance (required; env "+envNames["controller-pod-name"]+")")
	fs.StringVar(&level, "log-level", "info", "trace, debug, info, warn, error or off, or a tracing filter such as linkerd_cni_repair_controller=info,warn (env "+envNames["log-level"]+")")
	fs.StringVar(&s.logFormat, "log-format", "plain", "plain or json (env "+envNames["log-format"]+")")
	fs.StringVar(&s.adminAddr, "admin-addr", "0.0.0.0:8080", "address of the admin server: /live, /ready, /metrics (env "+envNames["admin-addr"]+")")
	fs.StringVar(&s.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG or ~/.kube/config if present, else the in-cluster configuration)")
	fs.StringVar(&s.context, "context", "", "kubeconfig context (default: the current one)")
	fs.StringVar(&mode, "repair-mode", string(repair.ModeDelete), "delete (upstream's: delete the pod) or in-place (install its rules from the node) (env "+envNames["repair-mode"]+")")
	fs.StringVar(&s.cniConfig, "cni-config", "", "in-place: the CNI network configuration with the plugin's entry, a .conflist file or a directory (env "+envNames["cni-config"]+")")
	fs.StringVar(&s.criSocket, "cri-socket", repair.DefaultCRIEndpoint, "in-place: the container runtime's CRI endpoint (env "+envNames["cri-socket"]+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, err
		}
		return nil, usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return nil, usageErr("unexpected argument %q (the controller takes only flags)", fs.Arg(0))
	}
	var err error
	fromEnv := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) {
		env, ok := envNames[f.Name]
		if err != nil || !ok || f.Changed {
			return
		}
		if v := getenv(env); v != "" {
			fromEnv[f.Name] = true
			if e := fs.Set(f.Name, v); e != nil {
				err = usageErr("invalid value %q for %s: %v", v, env, e)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	// Names the variable when the value came from it.
	source := func(flag string) string {
		if fromEnv[flag] {
			return envNames[flag]
		}
		return "--" + flag
	}
	if s.nodeName == "" {
		return nil, usageErr("--node-name (or %s) is required", envNames["node-name"])
	}
	if s.podName == "" {
		return nil, usageErr("--controller-pod-name (or %s) is required", envNames["controller-pod-name"])
	}
	var ok bool
	if s.logLevel, ok = parseLevel(level); !ok {
		return nil, usageErr("invalid value %q for %s: must be trace, debug, info, warn, error or off, or a tracing filter", level, source("log-level"))
	}
	if s.logFormat != "plain" && s.logFormat != "json" {
		return nil, usageErr("invalid value %q for %s: must be plain or json", s.logFormat, source("log-format"))
	}
	if _, _, e := net.SplitHostPort(s.adminAddr); e != nil {
		return nil, usageErr("invalid value %q for %s: %v", s.adminAddr, source("admin-addr"), e)
	}
	switch s.mode = repair.Mode(mode); s.mode {
	case repair.ModeDelete:
	case repair.ModeInPlace:
		if s.cniConfig == "" {
			return nil, usageErr("--repair-mode=in-place needs --cni-config (or %s): the CNI network configuration with the plugin's entry", envNames["cni-config"])
		}
		if _, e := os.Stat(s.cniConfig); e != nil {
			return nil, usageErr("invalid value %q for %s: %v", s.cniConfig, source("cni-config"), e)
		}
		if _, e := repair.ParseCRIEndpoint(s.criSocket); e != nil {
			return nil, usageErr("invalid value %q for %s: %v", s.criSocket, source("cri-socket"), e)
		}
	default:
		return nil, usageErr("invalid value %q for %s: must be delete or in-place", mode, source("repair-mode"))
	}
	return &s, nil
}

// parseLevel reads a level name, or upstream's tracing filter
// (target=level directives and a bare default, comma-separated): the
// directive for linkerd_cni_repair_controller wins, then the bare one.
func parseLevel(v string) (slog.Level, bool) {
	word := func(w string) (slog.Level, bool) {
		w = strings.TrimSpace(w)
		if strings.EqualFold(w, "off") {
			return slog.LevelError + 4, true
		}
		l, err := logging.ParseLevel(w)
		return l, err == nil
	}
	var bare, ours *slog.Level
	for _, d := range strings.Split(v, ",") {
		target, lv, hasTarget := strings.Cut(d, "=")
		if !hasTarget {
			lv = target
		}
		l, ok := word(lv)
		if !ok {
			return 0, false
		}
		switch {
		case !hasTarget:
			bare = &l
		case strings.TrimSpace(target) == "linkerd_cni_repair_controller":
			ours = &l
		}
	}
	switch {
	case ours != nil:
		return *ours, true
	case bare != nil:
		return *bare, true
	}
	return slog.LevelInfo, true
}

// Command proxy-init programs a meshed pod's transparent-proxy NAT rules into
// nf_tables over netlink. It is a drop-in for Linkerd's proxy-init: the same
// flags, the same rules, without iptables, nft, nsenter or sysctl binaries.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
	"github.com/spf13/pflag"
)

// Exit codes, documented in the README.
const (
	exitOK       = 0
	exitSystem   = 1 // the kernel or the system refused or failed
	exitUsage    = 2 // bad flags or configuration; nothing was touched
	exitMismatch = 3 // verify: the live rules differ from the configuration
)

const usageHead = `Usage: proxy-init [apply|remove|verify|show|validate] [flags]

  apply   (default) install the rules, replacing ours if they differ
  remove  delete our tables (and nothing else)
  verify  exit 0 if the live rules equal the configuration, 3 with a diff if not
  show    print the live rules of our tables with their counters
  validate  check that outbound TCP is redirected (see proxy-init validate --help)

Flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "validate" {
		return runValidate(args[1:], stdout, stderr)
	}
	cmd := "apply"
	if len(args) > 0 {
		switch args[0] {
		case "apply", "remove", "verify", "show":
			cmd, args = args[0], args[1:]
		}
	}
	var o options
	fs := newFlagSet(&o)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, usageHead+fs.FlagUsages())
			return exitOK
		}
		fmt.Fprintf(stderr, "proxy-init: %v\n", err)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "proxy-init: unexpected argument %q (commands: apply, remove, verify, show)\n", fs.Arg(0))
		return exitUsage
	}
	log, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "proxy-init: %v\n", err)
		return exitUsage
	}
	cfg, err := o.toConfig()
	if err != nil {
		fmt.Fprintf(stderr, "proxy-init: %v\n", err)
		return exitUsage
	}
	noteIgnoredFlags(fs, log)
	rep, err := pod.Run(context.Background(), pod.Request{
		Op:            ops[cmd],
		Config:        cfg,
		NetNS:         o.netns,
		CloseWaitSecs: o.closeWait,
		Simulate:      o.simulate,
		Logger:        log,
	})
	if err != nil {
		return fail(stderr, err)
	}
	switch {
	case o.simulate:
		fmt.Fprint(stdout, rep.Plan.Render())
	case rep.Op == pod.Show:
		fmt.Fprint(stdout, rep.Live.Listing(true))
	case rep.Op == pod.Verify && rep.Diff != "":
		fmt.Fprintf(stdout, "live rules differ from the configuration (- configured, + live):\n%s", rep.Diff)
		return exitMismatch
	}
	return exitOK
}

var ops = map[string]pod.Op{"apply": pod.Apply, "remove": pod.Remove, "verify": pod.Verify, "show": pod.Show}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "proxy-init: %v\n", err)
	var ce *nat.ConfigError
	if errors.As(err, &ce) {
		return exitUsage
	}
	return exitSystem
}

// noteIgnoredFlags logs, once each, the upstream flags that mean nothing
// here, with the reason their usage text gives.
func noteIgnoredFlags(fs *pflag.FlagSet, log *slog.Logger) {
	for _, name := range []string{"iptables-mode", "firewall-bin-path", "firewall-save-bin-path", "use-wait-flag"} {
		if fs.Changed(name) {
			log.Info("ignoring flag", "flag", "--"+name, "reason", fs.Lookup(name).Usage)
		}
	}
}

// utcTime writes record times in UTC. Besides being what an init
// container's log is usually read in, it spares every run loading the local
// zone (/etc/localtime), a tenth of the time a small install takes.
func utcTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
		a.Value = slog.TimeValue(a.Value.Time().UTC())
	}
	return a
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, &nat.ConfigError{Flag: "--log-level", Value: level, Reason: "must be debug, info, warn or error"}
	}
	opts := &slog.HandlerOptions{Level: lv, ReplaceAttr: utcTime}
	switch format {
	case "plain", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, &nat.ConfigError{Flag: "--log-format", Value: format, Reason: "must be plain or json"}
}

// Command proxy-init programs a meshed pod's transparent-proxy NAT rules into
// nf_tables over netlink. It is a drop-in for Linkerd's proxy-init: the same
// flags, the same rules, without iptables, nft, nsenter or sysctl binaries.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/spf13/pflag"
)

// Exit codes, documented in the README.
const (
	exitOK       = 0
	exitSystem   = 1 // the kernel or the system refused or failed
	exitUsage    = 2 // bad flags or configuration; nothing was touched
	exitMismatch = 3 // verify: the live rules differ from the configuration
)

const usageHead = `Usage: proxy-init [apply|remove|verify|show] [flags]

  apply   (default) install the rules, replacing ours if they differ
  remove  delete our tables (and nothing else)
  verify  exit 0 if the live rules equal the configuration, 3 with a diff if not
  show    print the live rules of our tables with their counters

Flags:
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
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
	// Planned, and so validated, once, before anything touches the kernel.
	plan, err := nat.Plan(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "proxy-init: %v\n", err)
		return exitUsage
	}
	noteIgnoredFlags(fs, log)
	if o.simulate && cmd != "apply" {
		fmt.Fprintf(stderr, "proxy-init: --simulate applies only to apply; %s with --simulate would not be a dry run\n", cmd)
		return exitUsage
	}
	if o.simulate {
		fmt.Fprint(stdout, plan.Render())
		return exitOK
	}

	nsFD := -1
	if o.netns != "" {
		f, err := netns.Open(o.netns)
		if err != nil {
			fmt.Fprintf(stderr, "proxy-init: invalid value %q for --netns: %v\n", o.netns, err)
			return exitUsage
		}
		defer f.Close()
		nsFD = int(f.Fd())
	}
	client, err := nat.NewClient(nat.Options{NetNSFD: nsFD, Logger: log})
	if err != nil {
		return fail(stderr, err)
	}
	defer client.Close()

	switch cmd {
	case "remove":
		if _, err := client.Remove(); err != nil {
			return fail(stderr, err)
		}
		return exitOK
	case "show":
		live, err := client.Live()
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprint(stdout, live.Listing(true))
		return exitOK
	}

	if cfg.IPv6 && !nat.IPv6Available() {
		log.Warn("this kernel has IPv6 disabled; installing the IPv4 rules only")
		cfg = cfg.WithoutIPv6()
		if plan, err = nat.Plan(cfg); err != nil {
			return fail(stderr, err)
		}
	}
	if cmd == "verify" {
		diff, err := client.Verify(plan)
		if err != nil {
			return fail(stderr, err)
		}
		if diff != "" {
			fmt.Fprintf(stdout, "live rules differ from the configuration (- configured, + live):\n%s", diff)
			return exitMismatch
		}
		log.Info("live rules match the configuration")
		return exitOK
	}
	return apply(client, cfg, plan, nsFD, o.closeWait, log, stderr)
}

func apply(client *nat.Client, cfg nat.Config, plan *nat.Ruleset, nsFD, closeWait int, log *slog.Logger, stderr io.Writer) int {
	log.Info("configuration", cfg.Summary()...)
	if legacy, err := nat.LegacyNATPresent(nsFD); err != nil {
		log.Debug("could not check for legacy iptables", "error", err)
	} else if legacy {
		log.Warn("legacy iptables nat rules exist in this namespace; they run on the same hooks and can shadow ours")
	}
	// Open the sysctl before touching the rules, so that an unwritable one
	// fails the run before anything changes. It may not exist until our NAT
	// rules load conntrack; then it is opened again afterwards.
	var sysctl *os.File
	if closeWait > 0 {
		f, err := nat.OpenCloseWaitSysctl(nsFD)
		switch {
		case err == nil:
			sysctl = f
			defer f.Close()
		case !errors.Is(err, fs.ErrNotExist):
			return fail(stderr, sysctlError(closeWait, err))
		}
	}
	if _, err := client.Apply(plan); err != nil {
		return fail(stderr, err)
	}
	if log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("installed ruleset\n" + plan.Listing(false))
	}
	if closeWait > 0 {
		if sysctl == nil {
			f, err := nat.OpenCloseWaitSysctl(nsFD)
			if err != nil {
				return fail(stderr, sysctlError(closeWait, err))
			}
			defer f.Close()
			sysctl = f
		}
		if err := nat.WriteSysctl(sysctl, closeWait); err != nil {
			return fail(stderr, sysctlError(closeWait, err))
		}
		log.Info("set conntrack close-wait timeout", "seconds", closeWait)
	}
	return exitOK
}

// sysctlError names the flag and value that asked for the sysctl, so that
// the one error line says which part of the invocation failed.
func sysctlError(closeWait int, err error) error {
	return fmt.Errorf("--timeout-close-wait-secs=%d: %w", closeWait, err)
}

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

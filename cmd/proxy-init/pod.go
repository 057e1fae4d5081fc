package main

import (
	"context"
	"fmt"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// The commands that act on the namespace, each through its nat/pod
// operation. Each starts from podConfig, so that the flags are refused
// alike whatever the command.

// runApply installs the flags' rules, or with --simulate prints them.
func runApply(e *env) int {
	cfg, err := podConfig(e, "apply", true)
	if err != nil {
		return e.fail(err)
	}
	if e.o.simulate {
		res, err := pod.Simulate(cfg, e.log)
		if err != nil {
			return e.fail(err)
		}
		fmt.Fprint(e.stdout, res.Plan.Render())
		return exitOK
	}
	if _, err := pod.Apply(context.Background(), e.target(), cfg, pod.ApplyOptions{CloseWaitSecs: e.o.closeWait}); err != nil {
		if nat.OpOf(err) == nat.OpSysctl {
			// The library names the setting; the line also names the flag
			// that asked for it.
			err = fmt.Errorf("--timeout-close-wait-secs=%d: %w", e.o.closeWait, err)
		}
		return e.fail(err)
	}
	return exitOK
}

func runRemove(e *env) int {
	if _, err := podConfig(e, "remove", false); err != nil {
		return e.fail(err)
	}
	if _, err := pod.Remove(context.Background(), e.target()); err != nil {
		return e.fail(err)
	}
	return exitOK
}

// runVerify exits exitMismatch with the diff when the live rules differ.
func runVerify(e *env) int {
	cfg, err := podConfig(e, "verify", true)
	if err != nil {
		return e.fail(err)
	}
	if e.o.simulate {
		// Verify warns about the configuration before anything else, and
		// its refusal of --simulate always came after those warnings.
		if _, err := pod.Simulate(cfg, e.log); err != nil {
			return e.fail(err)
		}
		return e.fail(simulateError("verify"))
	}
	res, err := pod.Verify(context.Background(), e.target(), cfg)
	if err != nil {
		return e.fail(err)
	}
	if diff := res.Changes.String(); diff != "" {
		fmt.Fprintf(e.stdout, "live rules differ from the configuration (- configured, + live):\n%s", diff)
		return exitMismatch
	}
	return exitOK
}

// showListing is show in nft syntax (runShow draws the other formats).
func showListing(e *env) int {
	if _, err := podConfig(e, "show", false); err != nil {
		return e.fail(err)
	}
	live, err := pod.Show(context.Background(), e.target())
	if err != nil {
		return e.fail(err)
	}
	if len(live.Tables) == 0 {
		// An empty listing would look like a failure to read. A warning,
		// so that --log-level warn still says it.
		e.log.Warn("no proxy_init tables in this namespace: nothing is installed")
		return exitOK
	}
	fmt.Fprint(e.stdout, live.Listing(true))
	return exitOK
}

// podConfig is the flags' configuration, validated even for a command that
// does not use it (remove, show), so that a bad flag is refused by every
// command alike before anything is touched; and --simulate is refused where
// it would not be a dry run (simulates: the command has one, or refuses it
// itself).
func podConfig(e *env, cmd string, simulates bool) (nat.Config, error) {
	cfg, err := e.o.toConfig()
	if err != nil {
		return cfg, err
	}
	noteIgnoredFlags(e.fs, e.log)
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if e.o.simulate && !simulates {
		return cfg, simulateError(cmd)
	}
	return cfg, nil
}

// simulateError refuses --simulate for cmd: a remove, show or verify "with
// simulate" would not be a dry run.
func simulateError(cmd string) error {
	return &nat.ConfigError{Name: "--simulate", Value: cmd,
		Reason: "simulate applies only to apply; " + cmd + " with it would not be a dry run"}
}

// target is the namespace of --netns (the own one without it).
func (e *env) target() pod.Target {
	t := pod.AtPath(e.o.netns)
	t.Logger = e.log
	return t
}

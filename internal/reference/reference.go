// Package reference programs the upstream linkerd2-proxy-init rules the way
// upstream does it, one iptables-nft process per rule, so tests can compare
// our netlink-native rules with the real thing and benchmarks can time it.
// The rules are described in shared/reference/linkerd-proxy-init-behaviour.md.
package reference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
)

// ErrNotExpressible is returned for a Config that upstream cannot express:
// it has no outbound-subnets flag, so OutboundSubnetsToIgnore has no
// reference and callers check our rules alone.
var ErrNotExpressible = errors.New("not expressible with upstream proxy-init")

// Install programs the upstream rules into the network namespace at nsPath
// (a namespace file such as /proc/PID/fd/N, as nsenter --net takes it): IPv4, then IPv6 when cfg.IPv6. Like upstream it is
// not atomic; a failure leaves what ran so far, and the error names the
// failing command line and its stderr. Running it again flushes and refills
// the PROXY_INIT_* chains and leaves the jumps alone.
func Install(ctx context.Context, nsPath string, cfg nat.Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("reference install: %w", err)
	}
	if len(cfg.OutboundSubnetsToIgnore) > 0 {
		return fmt.Errorf("reference install: --outbound-subnets-to-ignore: %w", ErrNotExpressible)
	}
	families := []Family{IPv4}
	if cfg.IPv6 {
		families = append(families, IPv6)
	}
	for _, f := range families {
		saved, err := Save(ctx, nsPath, f)
		if err != nil {
			return fmt.Errorf("reference install: %w", err)
		}
		for _, argv := range Commands(cfg, f, saved) {
			if _, err := runIn(ctx, nsPath, argv); err != nil {
				return fmt.Errorf("reference install %s: %w", f, err)
			}
		}
	}
	return nil
}

// Save returns `iptables-save -t nat` of one family in the namespace.
func Save(ctx context.Context, nsPath string, f Family) (string, error) {
	return runIn(ctx, nsPath, []string{f.SaveBinary(), "-t", "nat"})
}

// runIn runs argv in the namespace through `nsenter --net`, as upstream
// does.
func runIn(ctx context.Context, nsPath string, argv []string) (string, error) {
	full := append([]string{"--net=" + nsPath}, argv...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", commandLine(append([]string{"nsenter"}, full...)),
			err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// commandLine quotes the arguments that need it (comments can hold spaces
// in principle) so the line in an error can be pasted into a shell.
func commandLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

package harness

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
)

// applyLibrary installs our plan with a client of its own, as a separate
// run of proxy-init would.
func applyLibrary(tp *topology.Topology, cfg nat.Config, mutate func(*nat.Ruleset) error) error {
	plan, err := nat.Plan(cfg)
	if err != nil {
		return err
	}
	if mutate != nil {
		if err := mutate(plan); err != nil {
			return err
		}
	}
	client, err := nat.NewClient(nat.Options{NetNSFD: tp.PodFD()})
	if err != nil {
		return err
	}
	defer client.Close()
	_, err = client.Apply(plan)
	return err
}

func applyBinary(ctx context.Context, bin string, tp *topology.Topology, flags []string) error {
	args := append([]string{"--netns", tp.PodPath()}, flags...)
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, out)
	}
	return nil
}

// Args turns a configuration into proxy-init's (upstream's) flags.
func Args(c nat.Config) []string {
	a := []string{
		"--incoming-proxy-port=" + strconv.Itoa(int(c.InboundProxyPort)),
		"--outgoing-proxy-port=" + strconv.Itoa(int(c.OutboundProxyPort)),
		// The = form: a separate "-1" could be read as a flag.
		"--proxy-uid=" + strconv.FormatInt(c.ProxyUID, 10),
		"--proxy-gid=" + strconv.FormatInt(c.ProxyGID, 10),
		"--ipv6=" + strconv.FormatBool(c.IPv6),
	}
	ports := func(flag string, rs []nat.PortRange) {
		if len(rs) == 0 {
			return
		}
		s := make([]string, len(rs))
		for i, r := range rs {
			s[i] = r.String()
		}
		a = append(a, flag+"="+strings.Join(s, ","))
	}
	prefixes := func(flag string, ps []netip.Prefix) {
		if len(ps) == 0 {
			return
		}
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.String()
		}
		a = append(a, flag+"="+strings.Join(s, ","))
	}
	ports("--ports-to-redirect", c.PortsToRedirect)
	ports("--inbound-ports-to-ignore", c.InboundPortsToIgnore)
	ports("--outbound-ports-to-ignore", c.OutboundPortsToIgnore)
	prefixes("--subnets-to-ignore", c.InboundSubnetsToIgnore)
	prefixes("--outbound-subnets-to-ignore", c.OutboundSubnetsToIgnore)
	return a
}

// The proxy-init binary is built once per test process, from the working
// tree, so the harness never runs a stale bin/proxy-init.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func proxyInitBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "proxy-init-harness-")
		if buildErr != nil {
			return
		}
		buildBin, buildErr = testns.BuildProxyInit(buildDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// Cleanup removes the binary built for the harness; TestMain calls it.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

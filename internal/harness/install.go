package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
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
	ctx := context.Background()
	client, err := kernel.Open(ctx, kernel.AtFD(tp.PodFD()), kernel.Options{})
	if err != nil {
		return err
	}
	defer client.Close()
	_, err = client.Apply(ctx, plan)
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
	list := func(flag string, items []string) {
		if len(items) > 0 {
			a = append(a, flag+"="+strings.Join(items, ","))
		}
	}
	list("--ports-to-redirect", texts(c.PortsToRedirect))
	list("--inbound-ports-to-ignore", texts(c.InboundPortsToIgnore))
	list("--outbound-ports-to-ignore", texts(c.OutboundPortsToIgnore))
	list("--subnets-to-ignore", texts(c.InboundSubnetsToIgnore))
	list("--outbound-subnets-to-ignore", texts(c.OutboundSubnetsToIgnore))
	return a
}

func texts[T fmt.Stringer](items []T) []string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = it.String()
	}
	return s
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

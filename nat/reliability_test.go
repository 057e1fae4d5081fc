package nat_test

// Helpers shared by the reliability tests of issue 5 (atomic, concurrency,
// repeat, coexist, large, fuzz). Names start with "rel" so that they do not
// collide with other test files of this package.

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
)

// relClient opens a library client in the namespace, closed when the test ends.
func relClient(t testing.TB, ns *testns.NS) *nat.Client {
	t.Helper()
	c, err := nat.NewClient(nat.Options{NetNSFD: ns.FD()})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// relPlan plans a configuration that must be valid.
func relPlan(t testing.TB, cfg nat.Config) *nat.Ruleset {
	t.Helper()
	rs, err := nat.Plan(cfg)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return rs
}

// relApply applies a plan that must succeed and returns what Apply did.
func relApply(t testing.TB, c *nat.Client, rs *nat.Ruleset) nat.Outcome {
	t.Helper()
	out, err := c.Apply(rs)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return out
}

// relBuildBinary builds cmd/proxy-init, statically, into a directory of the
// test and returns its path.
func relBuildBinary(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "proxy-init")
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", bin, "github.com/proxy-init/netlink-native/cmd/proxy-init")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build proxy-init: %v\n%s", err, out)
	}
	return bin
}

// mustPrefix parses a CIDR written in a test.
func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

package nat

import (
	"flag"
	"github.com/proxy-init/netlink-native/internal/linediff"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// Helpers of nat's own tests, internal and external (nat_test sees the
// exported ones). The kernel tests use internal/testcfg, which cannot be
// imported here (it imports nat); TestFullConfigsAgree keeps
// testcfg.Full equal to fullConfig.

var update = flag.Bool("update", false, "rewrite golden files")

// Update reports whether -update was given.
func Update() bool { return *update }

// MustPlan plans a configuration that must be valid.
func MustPlan(t testing.TB, c Config) *Ruleset {
	t.Helper()
	rs, err := Plan(c)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return rs
}

// FullConfig exercises every kind of rule and set.
func FullConfig() Config { return fullConfig() }

func fullConfig() Config {
	c := DefaultConfig()
	c.ProxyGID = 2103
	c.PortsToRedirect = []PortRange{{8080, 8080}, {9000, 9010}}
	c.InboundPortsToIgnore = []PortRange{{4190, 4190}, {4191, 4191}, {25, 25}}
	c.OutboundPortsToIgnore = []PortRange{{443, 443}, {1000, 2000}, {65535, 65535}}
	c.InboundSubnetsToIgnore = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("fd00::/8"),
	}
	c.OutboundSubnetsToIgnore = []netip.Prefix{
		netip.MustParsePrefix("169.254.169.254/32"), netip.MustParsePrefix("2001:db8::/32"),
	}
	return c
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := linediff.Diff(string(want), got); d != "" {
		t.Fatalf("%s differs from golden (- golden, + got):\n%s", name, d)
	}
}

// FakeLocked reports whether f's lock is held (by the caller's call).
func FakeLocked(f *Fake) bool {
	if f.mu.TryLock() {
		f.mu.Unlock()
		return false
	}
	return true
}

//go:build linux

package kernel

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables/expr"
	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/internal/testns"
	. "github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/nattest"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite golden files (they are nat's: ../testdata)")

// MustPlan is nattest's.
var MustPlan = nattest.MustPlan

func fullConfig() Config { return testcfg.Full() }

// golden compares with nat's golden files: the kernel must list exactly
// what the planner's goldens say.
func golden(t *testing.T, name, got string) {
	t.Helper()
	testcfg.Golden(t, filepath.Join("..", "testdata", name), got, *update)
}

// Kernel tests: each runs in namespaces it creates (held by a descriptor, so
// they vanish with the test) and compares what nft lists with what we meant.

func apply(t *testing.T, c *Client, rs *Ruleset, want Outcome) {
	t.Helper()
	if got := MustApply(t, c, rs); got != want {
		t.Fatalf("Apply = %v, want %v", got, want)
	}
}

// TestKernelListingEqualsPlan: what nft lists after our install is exactly
// our own rendering of the plan, and matches the golden files.
func TestKernelListingEqualsPlan(t *testing.T) {
	for _, tc := range []struct {
		golden string
		cfg    Config
	}{
		{"default.nft", DefaultConfig()},
		{"full.nft", fullConfig()},
		{"ipv4-only.nft", DefaultConfig().WithoutIPv6()},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			ns := testns.New(t)
			c := OpenClient(t, ns)
			rs := MustPlan(t, tc.cfg)
			apply(t, c, rs, Installed)
			listing := ns.Ruleset(t)
			golden(t, tc.golden, listing)
			if d := linediff.Diff(rs.Listing(false), listing); d != "" {
				t.Fatalf("nft listing differs from our rendering (- ours, + nft):\n%s", d)
			}
		})
	}
}

func TestKernelReapplyIsUnchanged(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	rs := MustPlan(t, fullConfig())
	apply(t, c, rs, Installed)
	first := ns.Ruleset(t)
	apply(t, c, rs, Unchanged)
	// A second client, as a restarted init container would be.
	apply(t, OpenClient(t, ns), rs, Unchanged)
	if second := ns.Ruleset(t); second != first {
		t.Fatalf("re-apply changed the listing:\n%s", linediff.Diff(first, second))
	}
}

// TestKernelReconfigure: A then B leaves exactly what a fresh B leaves, in
// every direction between configurations with different sets, families and
// rules.
func TestKernelReconfigure(t *testing.T) {
	ipv4 := DefaultConfig()
	ipv4.IPv6 = false
	configs := map[string]Config{"default": DefaultConfig(), "full": fullConfig(), "ipv4": ipv4}
	fresh := map[string]string{}
	for name, cfg := range configs {
		ns := testns.New(t)
		apply(t, OpenClient(t, ns), MustPlan(t, cfg), Installed)
		fresh[name] = ns.Ruleset(t)
	}
	for a := range configs {
		for b := range configs {
			if a == b {
				continue
			}
			t.Run(a+"->"+b, func(t *testing.T) {
				ns := testns.New(t)
				c := OpenClient(t, ns)
				apply(t, c, MustPlan(t, configs[a]), Installed)
				apply(t, c, MustPlan(t, configs[b]), Replaced)
				if got := ns.Ruleset(t); got != fresh[b] {
					t.Fatalf("%s then %s differs from a fresh %s (- fresh, + got):\n%s", a, b, b, linediff.Diff(fresh[b], got))
				}
			})
		}
	}
}

func TestKernelVerify(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	rs := MustPlan(t, fullConfig())
	if d, err := VerifyText(t.Context(), c, rs); err != nil || d == "" {
		t.Fatalf("verify on an empty namespace: diff %q, err %v; want a difference", d, err)
	}
	apply(t, c, rs, Installed)
	if d, err := VerifyText(t.Context(), c, rs); err != nil || d != "" {
		t.Fatalf("verify after install: err %v, diff:\n%s", err, d)
	}
	// Someone adds a rule to our chain and an element to our set.
	ns.Run(t, "nft", "insert", "rule", "ip", TableName, ChainOutput, "tcp", "dport", "22", "return")
	ns.Run(t, "nft", "add", "element", "ip6", TableName, SetOutboundPortsIgnore, "{ 8443 }")
	d, err := VerifyText(t.Context(), c, rs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d, "+\t\t# unrecognised rule") || !strings.Contains(d, "8443") {
		t.Fatalf("verify did not report the foreign rule and element:\n%s", d)
	}
	// Apply repairs it.
	apply(t, c, rs, Replaced)
	if d, _ := VerifyText(t.Context(), c, rs); d != "" {
		t.Fatalf("verify after repair:\n%s", d)
	}
}

// TestKernelSimulateLoadsIdentically: the --simulate text loaded by nft into
// a fresh namespace lists exactly as our own install, and loading it over an
// install of another configuration replaces it.
func TestKernelSimulateLoadsIdentically(t *testing.T) {
	big := fullConfig()
	for p := 2000; p < 6000; p += 2 {
		big.InboundPortsToIgnore = append(big.InboundPortsToIgnore, PortRange{First: uint16(p), Last: uint16(p)})
	}
	for name, cfg := range map[string]Config{"default": DefaultConfig(), "full": fullConfig(), "2000 disjoint ports": big} {
		t.Run(name, func(t *testing.T) {
			rs := MustPlan(t, cfg)
			ours := testns.New(t)
			apply(t, OpenClient(t, ours), rs, Installed)
			theirs := testns.New(t)
			theirs.LoadNft(t, rs.Render())
			if a, b := ours.Ruleset(t), theirs.Ruleset(t); a != b {
				t.Fatalf("nft -f of --simulate differs from our install (- ours, + nft -f):\n%s", linediff.Diff(a, b))
			}
			// Our own rendering (show, --simulate) is nft's listing, line
			// breaks of long element lists included.
			if a, b := rs.Listing(false), ours.Ruleset(t); a != b {
				t.Fatalf("our listing differs from nft's (- ours, + nft):\n%s", linediff.Diff(a, b))
			}
			// Over an existing install of another configuration.
			over := testns.New(t)
			apply(t, OpenClient(t, over), MustPlan(t, DefaultConfig()), Installed)
			over.LoadNft(t, rs.Render())
			if a, b := ours.Ruleset(t), over.Ruleset(t); a != b {
				t.Fatalf("nft -f over an install differs (- ours, + nft -f):\n%s", linediff.Diff(a, b))
			}
		})
	}
}

// TestKernelNoCompatExpressions: nothing we install is an xtables-compat
// match or target; the same check flags iptables-nft's rules, so it can fail.
func TestKernelNoCompatExpressions(t *testing.T) {
	compat := regexp.MustCompile(`\[ (match|target) name `)
	ns := testns.New(t)
	apply(t, OpenClient(t, ns), MustPlan(t, fullConfig()), Installed)
	dbg := ns.Run(t, "nft", "--debug=netlink", "list", "ruleset")
	if !strings.Contains(dbg, "[ redir ") || !strings.Contains(dbg, "[ lookup ") {
		t.Fatalf("debug listing lacks our expressions:\n%s", dbg)
	}
	if m := compat.FindString(dbg); m != "" {
		t.Fatalf("found compat expression %q in:\n%s", m, dbg)
	}
	ref := testns.New(t)
	ref.Run(t, "iptables-nft", "-t", "nat", "-A", "OUTPUT", "-m", "owner", "--uid-owner", "2102", "-j", "RETURN")
	if !compat.MatchString(ref.Run(t, "nft", "--debug=netlink", "list", "ruleset")) {
		t.Fatal("the compat check does not detect iptables-nft's owner match")
	}
}

func TestKernelRemove(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	if removed, err := c.Remove(t.Context()); err != nil || removed {
		t.Fatalf("Remove on empty namespace = %v, %v", removed, err)
	}
	apply(t, c, MustPlan(t, fullConfig()), Installed)
	if removed, err := c.Remove(t.Context()); err != nil || !removed {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	if got := ns.Ruleset(t); got != "" {
		t.Fatalf("ruleset after remove:\n%s", got)
	}
	// And a fresh install works again afterwards.
	apply(t, c, MustPlan(t, DefaultConfig()), Installed)
}

// TestKernelIPv6Off: with IPv6 off nothing is installed for IPv6, and an ip6
// table left by an earlier dual-stack run is removed.
func TestKernelIPv6Off(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	ipv4 := DefaultConfig()
	ipv4.IPv6 = false
	apply(t, c, MustPlan(t, ipv4), Installed)
	if l := ns.Ruleset(t); strings.Contains(l, "table ip6") {
		t.Fatalf("ip6 table with IPv6 off:\n%s", l)
	}
	apply(t, c, MustPlan(t, DefaultConfig()), Replaced)
	apply(t, c, MustPlan(t, ipv4), Replaced)
	if l := ns.Ruleset(t); strings.Contains(l, "table ip6") {
		t.Fatalf("ip6 table survived turning IPv6 off:\n%s", l)
	}
}

func TestKernelShowCounters(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	apply(t, c, MustPlan(t, DefaultConfig()), Installed)
	// Loopback traffic passes the output chain and is counted by its rules.
	_ = netns.Do(ns.FD(), func() error {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:1", time.Second)
		if err == nil {
			conn.Close()
		}
		return nil
	})
	live, err := c.Live(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := live.Listing(true)
	re := regexp.MustCompile(`oifname "lo" counter packets ([1-9][0-9]*) bytes`)
	if !re.MatchString(out) {
		t.Fatalf("show lacks a non-zero loopback counter:\n%s", out)
	}
	if !strings.Contains(out, fmt.Sprintf("table ip %s", TableName)) {
		t.Fatal("show lacks our table")
	}
}

func TestIPv6AvailableAt(t *testing.T) {
	dir := t.TempDir()
	if !ipv6AvailableAt(dir + "/none") {
		t.Error("without /proc we cannot tell and must let the kernel decide (true)")
	}
	if err := os.MkdirAll(dir+"/sys/net/ipv4", 0o755); err != nil {
		t.Fatal(err)
	}
	if ipv6AvailableAt(dir) {
		t.Error("a /proc/sys/net without ipv6 means IPv6 is disabled")
	}
	if err := os.MkdirAll(dir+"/sys/net/ipv6", 0o755); err != nil {
		t.Fatal(err)
	}
	if !ipv6AvailableAt(dir) {
		t.Error("/proc/sys/net/ipv6 exists: IPv6 is available")
	}
}

// TestKernelIPv6RefusalFailsClosed: when the kernel refuses anything of the
// IPv6 part, the IPv4 part is not installed either.
func TestKernelIPv6RefusalFailsClosed(t *testing.T) {
	for _, existing := range []bool{false, true} {
		ns := testns.New(t)
		c := OpenClient(t, ns)
		if existing {
			ipv4 := DefaultConfig()
			ipv4.IPv6 = false
			apply(t, c, MustPlan(t, ipv4), Installed)
		}
		before := ns.Ruleset(t)
		c.beforeCommit = func(b *nfnl.Batch) {
			// As a kernel without IPv6 NAT would: refuse an ip6 rule.
			r := &Rule{Name: "x", Verdict: Return{}}
			b.AddRule(uint8(IPv6), TableName, "no-such-chain", lowerRule(r, IPv6), userData(r), "add rule ip6 refused")
		}
		_, err := c.Apply(t.Context(), MustPlan(t, DefaultConfig()))
		if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "add rule ip6 refused") {
			t.Fatalf("err = %v, want the refused ip6 rule", err)
		}
		if after := ns.Ruleset(t); after != before {
			t.Fatalf("a refused IPv6 part changed the ruleset (existing=%v):\n%s", existing, linediff.Diff(before, after))
		}
	}
}

// TestKernelVerifySeesWhatTheDecoderSkips: a dormant table (rules kept but
// unhooked) must not pass for a working install; the table flags are not
// decoded right by google/nftables. (Expressions the library skips are
// TestKernelVerifySeesSkippedExpressions.)
func TestKernelVerifySeesWhatTheDecoderSkips(t *testing.T) {
	for name, tamper := range map[string]func(t *testing.T, ns *testns.NS){
		"dormant table": func(t *testing.T, ns *testns.NS) {
			ns.Run(t, "nft", "add", "table", "ip", TableName, "{ flags dormant; }")
		},
	} {
		t.Run(name, func(t *testing.T) {
			ns := testns.New(t)
			c := OpenClient(t, ns)
			rs := MustPlan(t, DefaultConfig())
			apply(t, c, rs, Installed)
			tamper(t, ns)
			if d, err := VerifyText(t.Context(), c, rs); err != nil || d == "" {
				t.Fatalf("verify after tampering: err %v, no difference reported", err)
			}
			apply(t, c, rs, Replaced)
			if d, err := VerifyText(t.Context(), c, rs); err != nil || d != "" {
				t.Fatalf("verify after repair: err %v, diff:\n%s", err, d)
			}
		})
	}
}

// byteorderSkuid lowers a uid match with a byteorder conversion in the
// middle: a different match to the kernel (nft lists it as another uid),
// and one google/nftables cannot decode (it has no byteorder decoder; its
// own dump parser drops the expression, and the rule would look like ours).
func byteorderSkuid(r *Rule, f Family) []expr.Any {
	ex := lowerRule(r, f)
	if r.Name != "ignore-proxy-user-id" {
		return ex
	}
	return append([]expr.Any{ex[0], &expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4}}, ex[1:]...)
}

func TestKernelVerifySeesSkippedExpressions(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	rs := MustPlan(t, DefaultConfig())
	c.lowerRule = byteorderSkuid
	apply(t, c, rs, Installed)
	c.lowerRule = nil
	if !strings.Contains(ns.Ruleset(t), "meta skuid 906493952") {
		t.Fatalf("the tampered rule is not what nft sees:\n%s", ns.Ruleset(t))
	}
	d, err := VerifyText(t.Context(), c, rs)
	if err != nil || !strings.Contains(d, "byteorder(not decoded: unknown expression)") {
		t.Fatalf("verify: err %v, want the skipped expression reported, diff:\n%s", err, d)
	}
	apply(t, c, rs, Replaced)
	if d, err := VerifyText(t.Context(), c, rs); err != nil || d != "" {
		t.Fatalf("verify after repair: err %v, diff:\n%s", err, d)
	}
}

// TestKernelClientConcurrentUse: one Client used from several goroutines
// (run with -race to see the sharing) applies, reads and verifies correctly.
func TestKernelClientConcurrentUse(t *testing.T) {
	ns := testns.New(t)
	c := OpenClient(t, ns)
	plans := []*Ruleset{MustPlan(t, DefaultConfig()), MustPlan(t, fullConfig())}
	errc := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 10 {
				rs := plans[(g+i)%2]
				if _, err := c.Apply(t.Context(), rs); err != nil {
					errc <- err
					return
				}
				if _, err := c.Live(t.Context()); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	live := ns.Ruleset(t)
	if live != plans[0].Listing(false) && live != plans[1].Listing(false) {
		t.Fatalf("after concurrent use the ruleset is neither configuration:\n%s", live)
	}
}

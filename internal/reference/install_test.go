package reference

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
)

// testConfig is the default plus Linkerd's usual admin ports and enough
// ignored ports to need a second multiport rule.
func testConfig(t *testing.T) nat.Config {
	cfg := nat.DefaultConfig()
	var more []string
	for p := 5000; p < 5016; p++ {
		more = append(more, fmt.Sprint(p))
	}
	cfg.InboundPortsToIgnore = ports(t, "4190,4191,"+strings.Join(more, ",")+",6000-6010")
	cfg.OutboundPortsToIgnore = ports(t, "443")
	cfg.InboundSubnetsToIgnore = []netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00::/8"),
	}
	return cfg
}

func TestInstallRules(t *testing.T) {
	t.Parallel()
	tp := topology.New(t)
	cfg := testConfig(t)
	if err := Install(t.Context(), tp.PodPath(), cfg); err != nil {
		t.Fatal(err)
	}
	first := saveBoth(t, tp.PodPath())

	common := []string{
		":PROXY_INIT_OUTPUT - [0:0]",
		":PROXY_INIT_REDIRECT - [0:0]",
		`-A PREROUTING -m comment --comment "proxy-init/install-proxy-init-prerouting" -j PROXY_INIT_REDIRECT`,
		`-A OUTPUT -m comment --comment "proxy-init/install-proxy-init-output" -j PROXY_INIT_OUTPUT`,
		`-A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -m comment --comment "proxy-init/ignore-proxy-user-id" -j RETURN`,
		`-A PROXY_INIT_OUTPUT -o lo -m comment --comment "proxy-init/ignore-loopback" -j RETURN`,
		`-A PROXY_INIT_OUTPUT -p tcp -m multiport --dports 443 -m comment --comment "proxy-init/ignore-port-443" -j RETURN`,
		`-A PROXY_INIT_OUTPUT -p tcp -m comment --comment "proxy-init/redirect-all-outgoing-to-proxy-port" -j REDIRECT --to-ports 4140`,
		// 4190, 4191 and 5000-5012 fill 15 slots; the rest go to a second rule.
		`-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports 4190,4191,5000,5001,5002,5003,5004,5005,5006,5007,5008,5009,5010,5011,5012 -m comment --comment "proxy-init/ignore-port-4190,4191,5000,5001,5002,5003,5004,5005,5006,5007,5008,5009,5010,5011,5012" -j RETURN`,
		`-A PROXY_INIT_REDIRECT -p tcp -m multiport --dports 5013,5014,5015,6000:6010 -m comment --comment "proxy-init/ignore-port-5013,5014,5015,6000:6010" -j RETURN`,
		`-A PROXY_INIT_REDIRECT -p tcp -m comment --comment "proxy-init/redirect-all-incoming-to-proxy-port" -j REDIRECT --to-ports 4143`,
	}
	want := map[Family][]string{
		IPv4: append(common, `-A PROXY_INIT_REDIRECT -s 10.1.0.0/16 -m comment --comment "proxy-init/ignore-subnet-10.1.0.0/16" -j RETURN`),
		IPv6: append(common, `-A PROXY_INIT_REDIRECT -s fd00::/8 -m comment --comment "proxy-init/ignore-subnet-fd00::/8" -j RETURN`),
	}
	for f, lines := range want {
		for _, l := range lines {
			if !hasLine(first[f], l) {
				t.Errorf("%s: iptables-save lacks\n  %s\nin\n%s", f, l, first[f])
			}
		}
		if n := strings.Count(first[f], "\n-A "); n != len(lines)-2 {
			t.Errorf("%s: %d rules, want %d:\n%s", f, n, len(lines)-2, first[f])
		}
	}

	// Re-run: chains refilled in place, jumps not added twice.
	if err := Install(t.Context(), tp.PodPath(), cfg); err != nil {
		t.Fatalf("second install: %v", err)
	}
	second := saveBoth(t, tp.PodPath())
	for _, f := range []Family{IPv4, IPv6} {
		if a, b := rules(first[f]), rules(second[f]); a != b {
			t.Errorf("%s: rules changed on re-run:\nfirst:\n%s\nsecond:\n%s", f, a, b)
		}
		seen := map[string]bool{}
		for _, l := range strings.Split(rules(second[f]), "\n") {
			if seen[l] {
				t.Errorf("%s: duplicate rule after re-run: %s", f, l)
			}
			seen[l] = true
		}
	}
}

func TestInstallIPv4Only(t *testing.T) {
	t.Parallel()
	tp := topology.New(t)
	cfg := nat.DefaultConfig()
	cfg.IPv6 = false
	if err := Install(t.Context(), tp.PodPath(), cfg); err != nil {
		t.Fatal(err)
	}
	s := saveBoth(t, tp.PodPath())
	if !strings.Contains(s[IPv4], "PROXY_INIT_OUTPUT") || strings.Contains(s[IPv6], "PROXY_INIT") {
		t.Errorf("IPv4-only install:\nIPv4:\n%s\nIPv6:\n%s", s[IPv4], s[IPv6])
	}
}

// TestInstallRedirects checks the installed rules move real connections, so
// the reference the harness compares against is known to work.
func TestInstallRedirects(t *testing.T) {
	t.Parallel()
	tp := topology.New(t)
	if err := Install(t.Context(), tp.PodPath(), testConfig(t)); err != nil {
		t.Fatal(err)
	}
	tp.ListenProxy("proxy-in", 4143)
	tp.ListenProxy("proxy-out", 4140)
	tp.Listen(topology.Pod, "admin", 4191)
	tp.Listen(topology.Peer, "peer", 80)
	for _, fam := range []struct{ pod, peer netip.Addr }{
		{tp.PodAddr4, tp.PeerAddr4}, {tp.PodAddr6, tp.PeerAddr6},
	} {
		pod80, pod4191 := netip.AddrPortFrom(fam.pod, 80), netip.AddrPortFrom(fam.pod, 4191)
		peer80 := netip.AddrPortFrom(fam.peer, 80)
		for _, c := range []struct {
			from topology.NS
			opts topology.DialOptions
			want topology.Outcome
		}{
			{topology.Peer, topology.DialOptions{Dst: pod80}, topology.Answer("proxy-in", pod80)},
			{topology.Peer, topology.DialOptions{Dst: pod4191}, topology.Answer("admin", pod4191)},
			{topology.Pod, topology.DialOptions{Dst: peer80}, topology.Answer("proxy-out", peer80)},
			{topology.Pod, topology.DialOptions{Dst: peer80, UID: 2102}, topology.Answer("peer", peer80)},
		} {
			if got := tp.Dial(c.from, c.opts); got != c.want {
				t.Errorf("%s -> %s (uid %d): got %q, want %q", c.from, c.opts.Dst, c.opts.UID, got, c.want)
			}
		}
	}
}

func saveBoth(t *testing.T, nsPath string) map[Family]string {
	t.Helper()
	out := map[Family]string{}
	for _, f := range []Family{IPv4, IPv6} {
		s, err := Save(t.Context(), nsPath, f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = s
	}
	return out
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// rules keeps the chain and rule lines of a dump: its header and trailer
// carry timestamps.
func rules(save string) string {
	var keep []string
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "-A ") || strings.HasPrefix(l, ":") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

package reference

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/nat"
)

func ports(t *testing.T, s string) []nat.PortRange {
	t.Helper()
	rs, err := nat.ParsePortList(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestMultiportChunks(t *testing.T) {
	var twenty []string
	for p := 5000; p < 5020; p++ {
		twenty = append(twenty, fmt.Sprint(p))
	}
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"4190,4191", "4190,4191"},
		// 15 single ports fit; the 16th starts a new rule.
		{strings.Join(twenty, ","), strings.Join(twenty[:15], ",") + " " + strings.Join(twenty[15:], ",")},
		// A range takes two slots: 7 ranges + 1 port = 15.
		{"1-2,3-4,5-6,7-8,9-10,11-12,13-14,15", "1:2,3:4,5:6,7:8,9:10,11:12,13:14,15"},
		// 7 ranges = 14 slots; an 8th range would make 16.
		{"1-2,3-4,5-6,7-8,9-10,11-12,13-14,15-16", "1:2,3:4,5:6,7:8,9:10,11:12,13:14 15:16"},
		// Order is kept, nothing merged: that is what upstream writes.
		{"90,80,80", "90,80,80"},
	} {
		got := strings.Join(multiportChunks(ports(t, c.in)), " ")
		if got != c.want {
			t.Errorf("chunks(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCommandsFreshAndRerun(t *testing.T) {
	cfg := nat.DefaultConfig()
	cfg.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	join := func(cmds [][]string) string {
		var lines []string
		for _, c := range cmds {
			lines = append(lines, strings.Join(c, " "))
		}
		return strings.Join(lines, "\n")
	}
	fresh := join(Commands(cfg, IPv4, ""))
	want := strings.Join([]string{
		"iptables-nft -w -t nat -N PROXY_INIT_REDIRECT",
		"iptables-nft -w -t nat -A PROXY_INIT_REDIRECT -s 10.0.0.0/8 -j RETURN -m comment --comment proxy-init/ignore-subnet-10.0.0.0/8",
		"iptables-nft -w -t nat -A PROXY_INIT_REDIRECT -p tcp -j REDIRECT --to-port 4143 -m comment --comment proxy-init/redirect-all-incoming-to-proxy-port",
		"iptables-nft -w -t nat -A PREROUTING -j PROXY_INIT_REDIRECT -m comment --comment proxy-init/install-proxy-init-prerouting",
		"iptables-nft -w -t nat -N PROXY_INIT_OUTPUT",
		"iptables-nft -w -t nat -A PROXY_INIT_OUTPUT -m owner --uid-owner 2102 -j RETURN -m comment --comment proxy-init/ignore-proxy-user-id",
		"iptables-nft -w -t nat -A PROXY_INIT_OUTPUT -o lo -j RETURN -m comment --comment proxy-init/ignore-loopback",
		"iptables-nft -w -t nat -A PROXY_INIT_OUTPUT -p tcp -j REDIRECT --to-port 4140 -m comment --comment proxy-init/redirect-all-outgoing-to-proxy-port",
		"iptables-nft -w -t nat -A OUTPUT -j PROXY_INIT_OUTPUT -m comment --comment proxy-init/install-proxy-init-output",
	}, "\n")
	if fresh != want {
		t.Errorf("fresh IPv4 commands:\n%s\nwant:\n%s", fresh, want)
	}

	saved := strings.Join([]string{
		"*nat",
		":PREROUTING ACCEPT [0:0]",
		":OUTPUT ACCEPT [0:0]",
		":PROXY_INIT_OUTPUT - [0:0]",
		":PROXY_INIT_REDIRECT - [0:0]",
		`-A PREROUTING -m comment --comment "proxy-init/install-proxy-init-prerouting" -j PROXY_INIT_REDIRECT`,
		`-A OUTPUT -m comment --comment "proxy-init/install-proxy-init-output" -j PROXY_INIT_OUTPUT`,
		"COMMIT",
	}, "\n")
	rerun := join(Commands(cfg, IPv6, saved))
	for _, w := range []string{"ip6tables-nft -w -t nat -F PROXY_INIT_REDIRECT", "ip6tables-nft -w -t nat -F PROXY_INIT_OUTPUT", "fd00::/8"} {
		if !strings.Contains(rerun, w) {
			t.Errorf("re-run commands lack %q:\n%s", w, rerun)
		}
	}
	for _, bad := range []string{" -N ", "-A PREROUTING", "-A OUTPUT ", "10.0.0.0/8"} {
		if strings.Contains(rerun, bad) {
			t.Errorf("re-run commands contain %q:\n%s", bad, rerun)
		}
	}
}

func TestCommandsRedirectListedAndGID(t *testing.T) {
	cfg := nat.DefaultConfig()
	cfg.ProxyGID = 2103
	cfg.PortsToRedirect = ports(t, "80,8000-8080")
	got := Commands(cfg, IPv4, "")
	var text []string
	for _, c := range got {
		text = append(text, strings.Join(c, " "))
	}
	all := strings.Join(text, "\n")
	for _, w := range []string{
		"-A PROXY_INIT_REDIRECT -p tcp --dport 80 -j REDIRECT --to-port 4143 -m comment --comment proxy-init/redirect-port-80-to-proxy-port",
		"-A PROXY_INIT_REDIRECT -p tcp --dport 8000:8080 -j REDIRECT --to-port 4143 -m comment --comment proxy-init/redirect-port-8000:8080-to-proxy-port",
		"-A PROXY_INIT_OUTPUT -m owner --gid-owner 2103 -j RETURN -m comment --comment proxy-init/ignore-proxy-group-id",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("commands lack %q:\n%s", w, all)
		}
	}
	if strings.Contains(all, "redirect-all-incoming") {
		t.Errorf("redirect-listed mode still redirects all:\n%s", all)
	}
	// uid/gid <= 0 means no exception rule, as upstream.
	cfg.ProxyUID, cfg.ProxyGID = 0, -1
	for _, c := range Commands(cfg, IPv4, "") {
		if reflect.DeepEqual(c[4:6], []string{"-A", OutputChain}) && strings.Contains(strings.Join(c, " "), "owner") {
			t.Errorf("owner rule without an id: %v", c)
		}
	}
}

func TestInstallRefusesOutboundSubnets(t *testing.T) {
	cfg := nat.DefaultConfig()
	cfg.OutboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	// No namespace is needed: the check comes before anything runs.
	err := Install(t.Context(), "does-not-exist", cfg)
	if !errors.Is(err, ErrNotExpressible) {
		t.Fatalf("Install = %v, want ErrNotExpressible", err)
	}
}

// Package testcfg holds the configurations our own tests of nat and
// nat/kernel share: one exercising every kind of rule and set, large lists,
// the fuzz targets' configuration builder and seeds, and the golden-file
// check. It builds on any GOOS.
package testcfg

import (
	"net/netip"
	"os"
	"testing"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/nat"
)

// Full exercises every kind of rule and set.
func Full() nat.Config {
	c := nat.DefaultConfig()
	c.ProxyGID = 2103
	c.PortsToRedirect = []nat.PortRange{{First: 8080, Last: 8080}, {First: 9000, Last: 9010}}
	c.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4190}, {First: 4191, Last: 4191}, {First: 25, Last: 25}}
	c.OutboundPortsToIgnore = []nat.PortRange{{First: 443, Last: 443}, {First: 1000, Last: 2000}, {First: 65535, Last: 65535}}
	c.InboundSubnetsToIgnore = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("fd00::/8"),
	}
	c.OutboundSubnetsToIgnore = []netip.Prefix{
		netip.MustParsePrefix("169.254.169.254/32"), netip.MustParsePrefix("2001:db8::/32"),
	}
	return c
}

// DisjointSubnets returns n IPv4 /24s and n IPv6 /64s, none adjacent to
// another, so that none merge and each is its own interval.
func DisjointSubnets(n int, v4base, v6base string) []netip.Prefix {
	b4 := netip.MustParseAddr(v4base).As4()
	b6 := netip.MustParseAddr(v6base).As16()
	out := make([]netip.Prefix, 0, 2*n)
	for i := range n {
		a4 := b4
		a4[1] += byte(i >> 7)
		a4[2] = byte(i&127) * 2
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(a4), 24))
		a6 := b6
		a6[6], a6[7] = byte(i>>7), byte(i&127)*2
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(a6), 64))
	}
	return out
}

// EveryOtherPort returns the ports first, first+2, ... up to 65535.
func EveryOtherPort(first int) []nat.PortRange {
	var out []nat.PortRange
	for p := first; p <= 65535; p += 2 {
		out = append(out, nat.PortRange{First: uint16(p), Last: uint16(p)})
	}
	return out
}

// FuzzConfig builds a configuration from fuzzed flag values the way the CLI
// does; ok is false when the CLI would refuse a value before planning.
func FuzzConfig(in, out uint16, uid, gid int64, redirect, inIgnore, outIgnore, subnets, outSubnets string, ipv6 bool) (cfg nat.Config, ok bool) {
	cfg = nat.Config{InboundProxyPort: in, OutboundProxyPort: out, ProxyUID: uid, ProxyGID: gid, IPv6: ipv6}
	var err error
	for _, l := range []struct {
		s   string
		dst *[]nat.PortRange
	}{{redirect, &cfg.PortsToRedirect}, {inIgnore, &cfg.InboundPortsToIgnore}, {outIgnore, &cfg.OutboundPortsToIgnore}} {
		if *l.dst, err = nat.ParsePortList(l.s); err != nil {
			return cfg, false
		}
	}
	if cfg.InboundSubnetsToIgnore, err = nat.ParsePrefixList(subnets); err != nil {
		return cfg, false
	}
	if cfg.OutboundSubnetsToIgnore, err = nat.ParsePrefixList(outSubnets); err != nil {
		return cfg, false
	}
	return cfg, true
}

// AddConfigSeeds adds the seeds of the configuration fuzz targets (their
// arguments are FuzzConfig's).
func AddConfigSeeds(f *testing.F) {
	f.Add(uint16(4143), uint16(4140), int64(2102), int64(-1), "", "", "", "", "", true)
	f.Add(uint16(4143), uint16(4140), int64(2102), int64(2103), "80,443,8080-8090", "4190,4191", "25,587", "10.0.0.0/8,fd00::/8", "192.168.0.0/16,2001:db8::/32", true)
	f.Add(uint16(1), uint16(65535), int64(0), int64(0), "1-65535", "", "1,3,5,7,9,11,13", "0.0.0.0/0", "::/0", true)
	f.Add(uint16(5000), uint16(5000), int64(1), int64(1), "", "", "", "", "", false)
	f.Add(uint16(0), uint16(4140), int64(2102), int64(-1), "", "", "", "", "", true)
	f.Add(uint16(4143), uint16(4140), int64(4294967294), int64(4294967295), "", "", "", "", "", true)
	f.Add(uint16(4143), uint16(4140), int64(2102), int64(-1), "80,80,79-81", "", "", "fd00::/8", "", false)
	f.Add(uint16(4143), uint16(4140), int64(-7), int64(-1), "", "", "", "10.0.0.0/24,10.0.1.0/24,10.0.3.0/24,10.0.0.128/25", "10.0.0.1,10.0.0.2,10.0.0.3", true)
	f.Add(uint16(4143), uint16(4140), int64(2102), int64(-1), "", "", "", "255.255.255.255,0.0.0.0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,::", true)
}

// Golden compares got with the golden file at path, rewriting the file
// first when update is set (go test -update).
func Golden(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := linediff.Diff(string(want), got); d != "" {
		t.Fatalf("%s differs from golden (- golden, + got):\n%s", path, d)
	}
}

// BadBaseChains are changes to a plan's base chains that the kernel layer
// cannot install as written (a hook other than prerouting and output, a
// type other than nat, a policy other than accept): Validate, the Fake and
// the kernel engine must refuse each as a configuration error.
func BadBaseChains() map[string]func(rs *nat.Ruleset) {
	return map[string]func(rs *nat.Ruleset){
		"hook input, policy drop": func(rs *nat.Ruleset) {
			h := rs.Tables[0].Chain(nat.ChainPrerouting).Hook
			h.Name, h.Policy = "input", "drop"
		},
		"hook input":       func(rs *nat.Ruleset) { rs.Tables[0].Chain(nat.ChainPrerouting).Hook.Name = "input" },
		"hook postrouting": func(rs *nat.Ruleset) { rs.Tables[1].Chain(nat.ChainOutputBase).Hook.Name = "postrouting" },
		"policy drop":      func(rs *nat.Ruleset) { rs.Tables[1].Chain(nat.ChainOutputBase).Hook.Policy = "drop" },
		"no policy":        func(rs *nat.Ruleset) { rs.Tables[0].Chain(nat.ChainOutputBase).Hook.Policy = "" },
		"type filter":      func(rs *nat.Ruleset) { rs.Tables[0].Chain(nat.ChainPrerouting).Hook.Type = "filter" },
	}
}

// MatchKinds returns one value of every nat.Match kind. Code that handles
// the kinds in a type switch (lowering, decoding, evaluating) tests itself
// over this list; nat's TestKindListsAreComplete checks, from nat's source,
// that it names every type that implements Match.
func MatchKinds() []nat.Match {
	return []nat.Match{nat.L4ProtoTCP{}, nat.DPortInSet{Set: "s"}, nat.AddrInSet{Dest: true, Set: "s"},
		nat.SocketID{Group: true, ID: 7}, nat.OIFName{Name: "lo"}}
}

// VerdictKinds returns one value of every nat.Verdict kind; see MatchKinds.
func VerdictKinds() []nat.Verdict {
	return []nat.Verdict{nat.Return{}, nat.Jump{Chain: nat.ChainRedirect}, nat.Redirect{Port: 4143}}
}

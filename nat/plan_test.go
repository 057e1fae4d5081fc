package nat

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/proxy-init/netlink-native/internal/nfnl"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fullConfig exercises every kind of rule and set.
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
	if d := Diff(string(want), got); d != "" {
		t.Fatalf("%s differs from golden (- golden, + got):\n%s", name, d)
	}
}

func TestPlanGolden(t *testing.T) {
	golden(t, "default.nft", MustPlan(t, DefaultConfig()).Listing(false))
	golden(t, "full.nft", MustPlan(t, fullConfig()).Listing(false))
	golden(t, "ipv4-only.nft", MustPlan(t, DefaultConfig().WithoutIPv6()).Listing(false))
}

// A kernel without IPv6 gets the IPv4 rules of a dual-stack configuration,
// however mixed its subnet lists, and exactly those.
func TestPlanWithoutIPv6(t *testing.T) {
	got := MustPlan(t, fullConfig().WithoutIPv6())
	if len(got.Tables) != 1 || got.Tables[0].Family != IPv4 {
		t.Fatalf("want the ip table only, got %d tables", len(got.Tables))
	}
	dual := MustPlan(t, fullConfig())
	dual.Tables = dual.Tables[:1]
	if d := Diff(dual.Listing(false), got.Listing(false)); d != "" {
		t.Fatalf("the IPv4 table differs from the dual-stack plan's:\n%s", d)
	}
}

func TestPlanShape(t *testing.T) {
	rs := MustPlan(t, fullConfig())
	if len(rs.Tables) != 2 || rs.Tables[0].Family != IPv4 || rs.Tables[1].Family != IPv6 {
		t.Fatalf("want ip and ip6 tables, got %+v", rs.Tables)
	}
	// Each family gets only its own subnets.
	v4 := rs.Table(IPv4).Set(SetInboundSubnetsIgnore)
	v6 := rs.Table(IPv6).Set(SetInboundSubnetsIgnore)
	if len(v4.Elements) != 2 || len(v6.Elements) != 1 || v4.Key != KeyIPv4 || v6.Key != KeyIPv6 {
		t.Fatalf("subnets split wrongly: v4 %+v v6 %+v", v4, v6)
	}
	// An IPv4-only subnet list leaves the ip6 table without a subnet rule.
	c := DefaultConfig()
	c.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	rs = MustPlan(t, c)
	if rs.Table(IPv6).Set(SetInboundSubnetsIgnore) != nil {
		t.Fatal("ip6 table has an IPv4 subnet set")
	}
	for _, r := range rs.Table(IPv6).Chain(ChainRedirect).Rules {
		if r.Name == "ignore-subnet" {
			t.Fatal("ip6 table has a subnet rule without subnets")
		}
	}
	// uid/gid <= 0 add no exception, as upstream.
	c = DefaultConfig()
	c.ProxyUID, c.ProxyGID = 0, -1
	for _, r := range MustPlan(t, c).Table(IPv4).Chain(ChainOutput).Rules {
		if strings.HasPrefix(r.Name, "ignore-proxy") {
			t.Fatalf("unexpected rule %s", r.Name)
		}
	}
}

// TestRulesRoundTrip lowers every planned rule to expressions and decodes it
// back: the decoders must recognise exactly what the plan produces, or
// verify would report differences that are not there.
func TestRulesRoundTrip(t *testing.T) {
	kinds := map[string]bool{}
	for _, tbl := range MustPlan(t, fullConfig()).Tables {
		for _, c := range tbl.Chains {
			for _, r := range c.Rules {
				got := DecodeRule(tbl.Family, r.Exprs(tbl.Family), r.UserData())
				if !reflect.DeepEqual(got, r) {
					t.Errorf("%s %s: decoded %+v, want %+v", tbl.Family, c.Name, got, r)
				}
				for _, m := range r.Matches {
					kinds[reflect.TypeOf(m).Name()] = true
				}
				kinds[reflect.TypeOf(r.Verdict).Name()] = true
			}
		}
	}
	// Coverage guard: a new match or verdict kind must be added to fullConfig.
	for _, k := range []string{"L4ProtoTCP", "DPortInSet", "AddrInSet", "SocketID", "OIFName", "Return", "Jump", "Redirect"} {
		if !kinds[k] {
			t.Errorf("fullConfig does not exercise %s", k)
		}
	}
}

func TestDecodeRejectsForeignRules(t *testing.T) {
	r := &Rule{Name: "ignore-loopback", Matches: []Match{OIFName{"lo"}}, Verdict: Return{}}
	ex := r.Exprs(IPv4) // meta, cmp, counter, verdict
	prefix := append([]expr.Any{ex[0], &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("lo\x00")}}, ex[2:]...)
	for name, tc := range map[string]struct {
		ex    []expr.Any
		udata []byte
	}{
		"no comment":               {ex, nil},
		"foreign comment":          {ex, userdata.AppendString(nil, userdata.TypeComment, "kube-proxy/x")},
		"missing counter":          {append(ex[:2:2], ex[3]), r.UserData()},
		"prefix interface compare": {prefix, r.UserData()},
		"no verdict":               {ex[:3], r.UserData()},
		"extra expression":         {append(append([]expr.Any{}, ex...), &expr.Counter{}), r.UserData()},
	} {
		if got := DecodeRule(IPv4, tc.ex, tc.udata); got.Unrecognised == "" {
			t.Errorf("%s: decoded as %+v, want unrecognised", name, got)
		}
	}
	if got := DecodeRule(IPv4, ex, r.UserData()); got.Unrecognised != "" {
		t.Fatalf("our own rule is unrecognised: %s", got.Unrecognised)
	}
}

func TestSetElementsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  *Set
	}{
		{"ports", &Set{Key: KeyPort, Elements: portIntervals([]PortRange{{1, 1}, {80, 80}, {1000, 2000}, {65535, 65535}})}},
		{"ports from zero-adjacent", &Set{Key: KeyPort, Elements: portIntervals([]PortRange{{1, 65535}})}},
		{"v4", &Set{Key: KeyIPv4, Elements: addrIntervals([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/1"), netip.MustParsePrefix("255.255.255.255/32")}, IPv4)}},
		{"v6", &Set{Key: KeyIPv6, Elements: addrIntervals([]netip.Prefix{netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("2001:db8::1/128")}, IPv6)}},
	} {
		var elems []nftables.SetElement
		for key, end := range nfnl.IntervalElements(len(tc.set.Elements), tc.set.interval) {
			elems = append(elems, nftables.SetElement{Key: append([]byte(nil), key...), IntervalEnd: end})
		}
		// The kernel dumps interval sets in reverse order.
		for i, j := 0, len(elems)-1; i < j; i, j = i+1, j-1 {
			elems[i], elems[j] = elems[j], elems[i]
		}
		got, bad := intervalsFromElements(elems, tc.set.Key.KeyLen())
		if bad != "" || !reflect.DeepEqual(got, tc.set.Elements) {
			t.Errorf("%s: round trip gave %v (%s), want %v", tc.name, got, bad, tc.set.Elements)
		}
	}
}

func TestRenderElementFormat(t *testing.T) {
	s := &Set{Key: KeyIPv4, Elements: addrIntervals([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("192.0.2.8/31"), netip.MustParsePrefix("192.0.2.10/32"),
	}, IPv4)}
	var got []string
	for _, e := range s.Elements {
		got = append(got, s.Key.format(e))
	}
	want := []string{"10.0.0.0/8", "192.0.2.7-192.0.2.10"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("format = %v, want %v", got, want)
	}
}

func TestDiff(t *testing.T) {
	if d := Diff("a\nb\n", "a\nb\n"); d != "" {
		t.Fatalf("equal texts differ: %q", d)
	}
	d := Diff("a\nb\nc", "a\nx\nc")
	if !strings.Contains(d, "-b\n") || !strings.Contains(d, "+x\n") || !strings.Contains(d, " a\n") {
		t.Fatalf("diff = %q", d)
	}
}

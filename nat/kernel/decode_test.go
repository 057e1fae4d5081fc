//go:build linux

package kernel

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	. "github.com/proxy-init/netlink-native/nat"
)

// TestLoweringCoversEveryKind is the coverage guard of the type switches in
// lower.go and the decoders in decode.go: every match and verdict kind nat
// declares (nat's own test keeps MatchKinds and VerdictKinds complete)
// lowers to expressions and decodes back to itself, in both families.
func TestLoweringCoversEveryKind(t *testing.T) {
	for _, f := range []Family{IPv4, IPv6} {
		for _, m := range testcfg.MatchKinds() {
			ex := lowerMatch(m, f)
			if ex == nil {
				t.Errorf("%s: no lowering for match %T: add a case to lowerMatch", f, m)
				continue
			}
			if got, n := decodeMatch(f, ex); n != len(ex) || !reflect.DeepEqual(got, m) {
				t.Errorf("%s: %T %+v decodes to %+v (%d of %d expressions): add a decoder to matchDecoders", f, m, m, got, n, len(ex))
			}
		}
		for _, v := range testcfg.VerdictKinds() {
			ex := lowerVerdict(v)
			if ex == nil {
				t.Errorf("no lowering for verdict %T: add a case to lowerVerdict", v)
				continue
			}
			r := &Rule{Name: "x", Verdict: v}
			if got := decodeRule(f, lowerRule(r, f), userData(r)); !reflect.DeepEqual(got.Verdict, v) {
				t.Errorf("%s: verdict %T %+v decodes to %+v: add a decoder to verdictDecoders", f, v, v, got)
			}
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
				got := decodeRule(tbl.Family, lowerRule(r, tbl.Family), userData(r))
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
	// A new match or verdict kind must be exercised by the full config too,
	// so that the kernel tests install it.
	for _, m := range testcfg.MatchKinds() {
		if k := reflect.TypeOf(m).Name(); !kinds[k] {
			t.Errorf("testcfg.Full does not exercise %s", k)
		}
	}
	for _, v := range testcfg.VerdictKinds() {
		if k := reflect.TypeOf(v).Name(); !kinds[k] {
			t.Errorf("testcfg.Full does not exercise %s", k)
		}
	}
}

func TestDecodeRejectsForeignRules(t *testing.T) {
	r := &Rule{Name: "ignore-loopback", Matches: []Match{OIFName{Name: "lo"}}, Verdict: Return{}}
	ex := lowerRule(r, IPv4) // meta, cmp, counter, verdict
	prefix := append([]expr.Any{ex[0], &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("lo\x00")}}, ex[2:]...)
	for name, tc := range map[string]struct {
		ex    []expr.Any
		udata []byte
	}{
		"no comment":               {ex, nil},
		"foreign comment":          {ex, userdata.AppendString(nil, userdata.TypeComment, "kube-proxy/x")},
		"missing counter":          {append(ex[:2:2], ex[3]), userData(r)},
		"prefix interface compare": {prefix, userData(r)},
		"no verdict":               {ex[:3], userData(r)},
		"extra expression":         {append(append([]expr.Any{}, ex...), &expr.Counter{}), userData(r)},
	} {
		if got := decodeRule(IPv4, tc.ex, tc.udata); got.Unrecognised == "" {
			t.Errorf("%s: decoded as %+v, want unrecognised", name, got)
		}
	}
	if got := decodeRule(IPv4, ex, userData(r)); got.Unrecognised != "" {
		t.Fatalf("our own rule is unrecognised: %s", got.Unrecognised)
	}
}

func TestSetElementsRoundTrip(t *testing.T) {
	ports := DefaultConfig()
	ports.InboundPortsToIgnore = []PortRange{{First: 1, Last: 1}, {First: 80, Last: 80}, {First: 1000, Last: 2000}, {First: 65535, Last: 65535}}
	ports.OutboundPortsToIgnore = []PortRange{{First: 1, Last: 65535}}
	addrs := DefaultConfig()
	addrs.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/1"), netip.MustParsePrefix("255.255.255.255/32"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("2001:db8::1/128")}
	var sets []*Set
	for _, cfg := range []Config{ports, addrs} {
		for _, tbl := range MustPlan(t, cfg).Tables {
			sets = append(sets, tbl.Sets...)
		}
	}
	for _, s := range sets {
		var elems []nfnl.Element
		for key, end := range nfnl.IntervalElements(len(s.Elements), func(i int) ([]byte, []byte) { return s.Elements[i].First, s.Elements[i].Last }) {
			elems = append(elems, nfnl.Element{Key: append([]byte(nil), key...), End: end})
		}
		// The kernel dumps interval sets in reverse order.
		for i, j := 0, len(elems)-1; i < j; i, j = i+1, j-1 {
			elems[i], elems[j] = elems[j], elems[i]
		}
		got, bad := intervalsFromElements(elems, s.Key.KeyLen())
		if bad != "" || !reflect.DeepEqual(got, s.Elements) {
			t.Errorf("%s: round trip gave %v (%s), want %v", s.Name, got, bad, s.Elements)
		}
	}
}

// TestLiveRuleNamesWhatItCannotDecode: a live rule read with an expression
// google/nftables' codec does not decode (unknown name, or attributes that
// do not decode) is unrecognised, and the text names it in its place, with
// the rule's comment; the same rule fully decoded is ours again.
func TestLiveRuleNamesWhatItCannotDecode(t *testing.T) {
	r := &Rule{Name: "ignore-loopback", Matches: []Match{OIFName{Name: "lo"}}, Verdict: Return{}}
	var exprs []nfnl.Expr
	for _, e := range lowerRule(r, IPv4) {
		exprs = append(exprs, nfnl.Expr{Name: "x", Value: e})
	}
	live := nfnl.Rule{Chain: ChainOutput, UserData: userData(r), Exprs: exprs}
	if got := liveRule(IPv4, live); !reflect.DeepEqual(got, r) {
		t.Fatalf("fully decoded: %+v, want %+v", got, r)
	}
	live.Exprs = append(exprs[:1:1], append([]nfnl.Expr{{Name: "byteorder", Err: nfnl.ErrUnknownExpr}}, exprs[1:]...)...)
	got := liveRule(IPv4, live)
	if !strings.Contains(got.Unrecognised, "Meta&{Key:7 ") ||
		!strings.Contains(got.Unrecognised, " byteorder(not decoded: unknown expression) Cmp&") ||
		!strings.HasSuffix(got.Unrecognised, ` comment "proxy-init/ignore-loopback"`) || got.Name != "" {
		t.Fatalf("with an undecoded expression: %+v", got)
	}
}

package explain

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

func inFlow(src, dst string) Flow {
	f := Flow{Direction: Inbound, Dst: netip.MustParseAddrPort(dst), UID: nat.NoID, GID: nat.NoID}
	if src != "" {
		f.Src = netip.AddrPortFrom(netip.MustParseAddr(src), 0)
	}
	return f
}

func outFlow(dst string, uid, gid int64, oif string) Flow {
	return Flow{Direction: Outbound, Dst: netip.MustParseAddrPort(dst), UID: uid, GID: gid, OIF: oif}
}

// routed gives the flow the namespace's route, as pod.Inspect looks it up.
func routed(f Flow, oif, typ, noRoute string) Flow {
	f.Route = &nat.Route{Dst: f.Dst.Addr(), OIF: oif, Type: typ, NoRoute: noRoute}
	return f
}

func TestExplain(t *testing.T) {
	def := nat.DefaultConfig()
	withLists := nat.DefaultConfig()
	withLists.ProxyGID = 2103
	withLists.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4191}, {First: 7000, Last: 7010}}
	withLists.OutboundPortsToIgnore = []nat.PortRange{{First: 443, Last: 443}}
	withLists.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	withLists.OutboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}
	listed := nat.DefaultConfig()
	listed.PortsToRedirect = []nat.PortRange{{First: 8080, Last: 8080}, {First: 9000, Last: 9010}}
	v4only := nat.DefaultConfig()
	v4only.IPv6 = false

	for _, tc := range []struct {
		name      string
		cfg       nat.Config
		flow      Flow
		verdict   string
		port      uint16
		decidedBy string
		// path is the comments of the rules visited, "+" before those
		// that matched.
		path []string
		// reason is a substring of the deciding (or last) step's reason.
		reason string
		notes  int
	}{
		{"inbound redirected", def, inFlow("192.0.2.1", "192.0.2.2:8080"), VerdictRedirect, 4143, "proxy-init/redirect-all-incoming-to-proxy-port",
			[]string{"+install-proxy-init-prerouting", "+redirect-all-incoming-to-proxy-port"}, "reads 192.0.2.2:8080 with SO_ORIGINAL_DST", 0},
		{"inbound v6 redirected", def, inFlow("2001:db8::1", "[2001:db8::2]:22"), VerdictRedirect, 4143, "proxy-init/redirect-all-incoming-to-proxy-port",
			[]string{"+install-proxy-init-prerouting", "+redirect-all-incoming-to-proxy-port"}, "[2001:db8::2]:22", 0},
		{"inbound ignored port", withLists, inFlow("192.0.2.1", "192.0.2.2:7010"), VerdictAccept, 0, "proxy-init/ignore-port",
			[]string{"+install-proxy-init-prerouting", "+ignore-port"}, "destination port 7010 is in @inbound_ports_ignore (element 7000-7010)", 0},
		{"inbound port next to a range", withLists, inFlow("192.0.2.1", "192.0.2.2:7011"), VerdictRedirect, 4143, "proxy-init/redirect-all-incoming-to-proxy-port",
			[]string{"+install-proxy-init-prerouting", "ignore-port", "ignore-subnet", "+redirect-all-incoming-to-proxy-port"}, "", 0},
		{"inbound ignored subnet", withLists, inFlow("10.1.2.3", "192.0.2.2:80"), VerdictAccept, 0, "proxy-init/ignore-subnet",
			[]string{"+install-proxy-init-prerouting", "ignore-port", "+ignore-subnet"}, "source 10.1.2.3 is in @inbound_subnets_ignore (element 10.0.0.0/8)", 0},
		{"inbound ignored v6 subnet", withLists, inFlow("fd00::1", "[2001:db8::2]:80"), VerdictAccept, 0, "proxy-init/ignore-subnet",
			[]string{"+install-proxy-init-prerouting", "ignore-port", "+ignore-subnet"}, "fd00::/8", 0},
		{"inbound source not given", withLists, inFlow("", "192.0.2.2:80"), VerdictRedirect, 4143, "proxy-init/redirect-all-incoming-to-proxy-port",
			[]string{"+install-proxy-init-prerouting", "ignore-port", "ignore-subnet", "+redirect-all-incoming-to-proxy-port"}, "", 1},
		{"inbound listed port", listed, inFlow("192.0.2.1", "192.0.2.2:9005"), VerdictRedirect, 4143, "proxy-init/redirect-port-to-proxy-port",
			[]string{"+install-proxy-init-prerouting", "+redirect-port-to-proxy-port"}, "element 9000-9010", 0},
		{"inbound port not listed", listed, inFlow("192.0.2.1", "192.0.2.2:8081"), VerdictAccept, 0, DecidedByPolicy,
			[]string{"+install-proxy-init-prerouting", "redirect-port-to-proxy-port"}, "is not in @redirect_ports { 8080, 9000-9010 }", 0},
		{"outbound redirected", def, outFlow("192.0.2.1:80", 1000, 1000, "eth0"), VerdictRedirect, 4140, "proxy-init/redirect-all-outgoing-to-proxy-port",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "ignore-loopback", "+redirect-all-outgoing-to-proxy-port"}, "the loopback address, port 4140", 0},
		{"outbound proxy uid", def, outFlow("192.0.2.1:80", 2102, 1000, "eth0"), VerdictAccept, 0, "proxy-init/ignore-proxy-user-id",
			[]string{"+install-proxy-init-output", "+ignore-proxy-user-id"}, "sender's uid is 2102", 0},
		{"outbound proxy gid", withLists, outFlow("192.0.2.1:80", 1000, 2103, "eth0"), VerdictAccept, 0, "proxy-init/ignore-proxy-group-id",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "+ignore-proxy-group-id"}, "gid is 2103", 0},
		{"outbound uid not given", def, outFlow("192.0.2.1:80", nat.NoID, nat.NoID, "eth0"), VerdictRedirect, 4140, "proxy-init/redirect-all-outgoing-to-proxy-port",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "ignore-loopback", "+redirect-all-outgoing-to-proxy-port"}, "", 1},
		{"outbound to loopback, oif inferred", def, outFlow("127.0.0.1:8080", 1000, 1000, ""), VerdictAccept, 0, "proxy-init/ignore-loopback",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "+ignore-loopback"}, `output interface is "lo"`, 1},
		{"outbound via lo1", def, outFlow("198.51.100.1:80", 1000, 1000, "lo1"), VerdictRedirect, 4140, "proxy-init/redirect-all-outgoing-to-proxy-port",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "ignore-loopback", "+redirect-all-outgoing-to-proxy-port"}, "", 0},
		{"outbound ignored port", withLists, outFlow("[2001:db8::1]:443", 1000, 1000, "eth0"), VerdictAccept, 0, "proxy-init/ignore-port",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "ignore-proxy-group-id", "ignore-loopback", "+ignore-port"}, "", 0},
		{"outbound ignored subnet", withLists, outFlow("192.168.3.4:80", 1000, 1000, "eth0"), VerdictAccept, 0, "proxy-init/ignore-subnet",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "ignore-proxy-group-id", "ignore-loopback", "ignore-port", "+ignore-subnet"}, "destination 192.168.3.4", 0},
		// The namespace's route, when looked up, says which interface:
		// the pod's own address is local, and leaves through lo.
		{"outbound to own address, routed via lo", def, routed(outFlow("10.0.0.2:8080", 1000, 1000, ""), "lo", "local", ""), VerdictAccept, 0, "proxy-init/ignore-loopback",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "+ignore-loopback"}, `output interface is "lo"`, 1},
		{"outbound routed via eth0", def, routed(outFlow("[2001:db8::9]:80", 1000, 1000, ""), "eth0", "unicast", ""), VerdictRedirect, 4140, "proxy-init/redirect-all-outgoing-to-proxy-port",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "ignore-loopback", "+redirect-all-outgoing-to-proxy-port"}, "", 1},
		{"outbound with no route", def, routed(outFlow("203.0.113.1:80", 1000, 1000, ""), "", "", "network is unreachable"), VerdictRedirect, 4140, "proxy-init/redirect-all-outgoing-to-proxy-port",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "ignore-loopback", "+redirect-all-outgoing-to-proxy-port"}, "", 2},
		{"outbound --oif over the route", def, routed(outFlow("10.0.0.2:8080", 1000, 1000, "eth0"), "lo", "local", ""), VerdictRedirect, 4140, "proxy-init/redirect-all-outgoing-to-proxy-port",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "ignore-loopback", "+redirect-all-outgoing-to-proxy-port"}, "", 0},
		{"outbound to a scoped address", def, outFlow("[fe80::1%lo]:80", 1000, 1000, ""), VerdictAccept, 0, "proxy-init/ignore-loopback",
			[]string{"+install-proxy-init-output", "ignore-proxy-user-id", "+ignore-loopback"}, `output interface is "lo"`, 1},
		{"ipv6 with ipv6 off", v4only, inFlow("2001:db8::1", "[2001:db8::2]:80"), VerdictAccept, 0, DecidedByPolicy, nil, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Explain(nattest.MustPlan(t, tc.cfg), tc.flow)
			if err != nil {
				t.Fatal(err)
			}
			var path []string
			for _, s := range tr.Path {
				c := strings.TrimPrefix(s.Comment, nat.CommentPrefix)
				if s.Matched {
					c = "+" + c
				}
				path = append(path, c)
			}
			if tr.Verdict != tc.verdict || tr.Port != tc.port || tr.DecidedBy != tc.decidedBy || !slices.Equal(path, tc.path) {
				t.Fatalf("got %s :%d by %s via %q; want %s :%d by %s via %q", tr.Verdict, tr.Port, tr.DecidedBy, path, tc.verdict, tc.port, tc.decidedBy, tc.path)
			}
			if tc.reason != "" && !strings.Contains(tr.Path[len(tr.Path)-1].Reason, tc.reason) {
				t.Errorf("last step's reason %q lacks %q", tr.Path[len(tr.Path)-1].Reason, tc.reason)
			}
			if len(tr.Notes) != tc.notes {
				t.Errorf("notes %q, want %d", tr.Notes, tc.notes)
			}
			if wantRoute := tc.flow.Route != nil && tc.flow.OIF == ""; (tr.Route != nil) != wantRoute {
				t.Errorf("trace's route %+v; want one: %v", tr.Route, wantRoute)
			}
			if tr.Route != nil && !slices.ContainsFunc(tr.Notes, func(n string) bool { return strings.Contains(n, "route lookup") }) {
				t.Errorf("notes %q do not say the interface came from the route lookup", tr.Notes)
			}
			if tr.Redirected() != (tr.OriginalDst != "") || (tr.Redirected() && tr.OriginalDst != tc.flow.Dst.String()) {
				t.Errorf("original destination %q for verdict %s of %s", tr.OriginalDst, tr.Verdict, tc.flow.Dst)
			}
		})
	}
}

// A live table can hold what no plan does; explain evaluates what it can
// and says what it could not, rather than guessing silently.
func TestExplainLiveOddities(t *testing.T) {
	flow := outFlow("192.0.2.1:80", 1000, 1000, "eth0")
	t.Run("unrecognised rule", func(t *testing.T) {
		rs := nattest.MustPlan(t, nat.DefaultConfig())
		c := rs.Table(nat.IPv4).Chain(nat.ChainOutput)
		c.Rules = slices.Insert(c.Rules, 0, &nat.Rule{Unrecognised: "Meta{...} Cmp{...} Verdict{drop}"})
		tr, _ := Explain(rs, flow)
		if tr.Path[1].Matched || tr.Path[1].Comment != "" || !tr.Redirected() || len(tr.Notes) != 1 || !strings.Contains(tr.Notes[0], "not evaluated") {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("dormant table", func(t *testing.T) {
		rs := nattest.MustPlan(t, nat.DefaultConfig())
		rs.Table(nat.IPv4).Flags = 1
		tr, _ := Explain(rs, flow)
		if tr.Redirected() || tr.DecidedBy != DecidedByPolicy || len(tr.Path) != 0 || !strings.Contains(strings.Join(tr.Notes, ""), "dormant") {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("missing set", func(t *testing.T) {
		cfg := nat.DefaultConfig()
		cfg.OutboundPortsToIgnore = []nat.PortRange{{First: 80, Last: 80}}
		rs := nattest.MustPlan(t, cfg)
		rs.Table(nat.IPv4).Sets = nil
		tr, _ := Explain(rs, flow)
		if !tr.Redirected() || !strings.Contains(strings.Join(tr.Notes, ""), "does not exist") {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("jump to a missing chain", func(t *testing.T) {
		rs := nattest.MustPlan(t, nat.DefaultConfig())
		tbl := rs.Table(nat.IPv4)
		tbl.Chains = slices.DeleteFunc(tbl.Chains, func(c *nat.Chain) bool { return c.Name == nat.ChainOutput })
		tr, _ := Explain(rs, flow)
		if tr.Redirected() || tr.DecidedBy != DecidedByPolicy || len(tr.Path) != 1 || !tr.Path[0].Matched {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("drop policy", func(t *testing.T) {
		rs := nattest.MustPlan(t, nat.DefaultConfig())
		rs.Table(nat.IPv4).Chain(nat.ChainOutputBase).Hook.Policy = VerdictDrop
		tr, _ := Explain(rs, outFlow("192.0.2.1:80", 2102, 1000, "eth0"))
		if tr.Verdict != VerdictDrop || tr.DecidedBy != DecidedByPolicy {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("no table", func(t *testing.T) {
		tr, err := Explain(&nat.Ruleset{}, flow)
		if err != nil || tr.Redirected() || tr.DecidedBy != DecidedByPolicy {
			t.Fatalf("trace %+v, %v", tr, err)
		}
	})
}

func TestExplainRefusesIncompleteFlows(t *testing.T) {
	rs := nattest.MustPlan(t, nat.DefaultConfig())
	for _, f := range []Flow{
		{Direction: Inbound, UID: nat.NoID, GID: nat.NoID},
		{Direction: Inbound, Dst: netip.MustParseAddrPort("192.0.2.2:0"), UID: nat.NoID, GID: nat.NoID},
		{Direction: Inbound, Src: netip.MustParseAddrPort("[2001:db8::1]:1"), Dst: netip.MustParseAddrPort("192.0.2.2:80"), UID: nat.NoID, GID: nat.NoID},
		{Direction: Inbound, Dst: netip.MustParseAddrPort("[::ffff:192.0.2.2]:80"), UID: nat.NoID, GID: nat.NoID},
		{Direction: Outbound, Dst: netip.MustParseAddrPort("192.0.2.2:80"), UID: -5, GID: nat.NoID},
		{Direction: 7, Dst: netip.MustParseAddrPort("192.0.2.2:80")},
	} {
		var fe *FlowError
		if _, err := Explain(rs, f); err == nil || !asFlowError(err, &fe) {
			t.Errorf("%+v: error %v, want a *FlowError", f, err)
		}
	}
}

func asFlowError(err error, fe **FlowError) bool {
	e, ok := err.(*FlowError)
	*fe = e
	return ok
}

// The JSON keys are documented in docs/explain.md: verdict, port, decided_by,
// path (chain, comment, matched).
func TestExplainJSONKeys(t *testing.T) {
	tr, err := Explain(nattest.MustPlan(t, nat.DefaultConfig()), inFlow("192.0.2.1", "192.0.2.2:8080"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["verdict"] != "redirect" || m["port"] != 4143.0 || m["decided_by"] != "proxy-init/redirect-all-incoming-to-proxy-port" || m["original_dst"] != "192.0.2.2:8080" {
		t.Fatalf("json %s", b)
	}
	path, _ := m["path"].([]any)
	first, _ := path[0].(map[string]any)
	if len(path) != 2 || first["chain"] != "PREROUTING" || first["comment"] != "proxy-init/install-proxy-init-prerouting" || first["matched"] != true {
		t.Fatalf("json path %s", b)
	}
	// Not redirected: no port key, decided_by names the policy.
	listed := nat.DefaultConfig()
	listed.PortsToRedirect = []nat.PortRange{{First: 80, Last: 80}}
	tr, _ = Explain(nattest.MustPlan(t, listed), inFlow("192.0.2.1", "192.0.2.2:8080"))
	b, _ = json.Marshal(tr)
	if strings.Contains(string(b), `"port"`) || !strings.Contains(string(b), `"verdict":"accept"`) || !strings.Contains(string(b), `"decided_by":"policy"`) {
		t.Fatalf("json %s", b)
	}
}

func TestExplainNotesOtherChains(t *testing.T) {
	tr, _ := Explain(nattest.MustPlan(t, nat.DefaultConfig()), inFlow("192.0.2.1", "192.0.2.2:8080"))
	tr.NoteOthers([]nat.BaseChain{
		{Family: "ip", Table: nat.TableName, Chain: nat.ChainPrerouting, Type: "nat", Hook: "prerouting", Priority: -100},
		{Family: "ip", Table: "nat", Chain: "PREROUTING", Type: "nat", Hook: "prerouting", Priority: -100},
		{Family: "inet", Table: "mesh", Chain: "pre", Type: "nat", Hook: "prerouting", Priority: -150},
		{Family: "ip", Table: "late", Chain: "pre", Type: "nat", Hook: "prerouting", Priority: 10},
		{Family: "ip6", Table: "nat", Chain: "PREROUTING", Type: "nat", Hook: "prerouting", Priority: -100},
		{Family: "ip", Table: "nat", Chain: "OUTPUT", Type: "nat", Hook: "output", Priority: -100},
		{Family: "ip", Table: "filter", Chain: "pre", Type: "filter", Hook: "prerouting", Priority: 0},
	})
	var got []string
	for _, o := range tr.Others {
		got = append(got, o.Family+" "+o.Table+" "+o.Order)
	}
	want := []string{"ip nat same priority", "inet mesh before", "ip late after"}
	if !slices.Equal(got, want) {
		t.Fatalf("other chains %q, want %q", got, want)
	}
	// Without a table of ours, another table's chain decides alone.
	tr, _ = Explain(&nat.Ruleset{}, inFlow("192.0.2.1", "192.0.2.2:8080"))
	tr.NoteOthers([]nat.BaseChain{{Family: "ip", Table: "nat", Chain: "PREROUTING", Type: "nat", Hook: "prerouting", Priority: -100}})
	if len(tr.Others) != 1 || tr.Others[0].Order != "alone" {
		t.Fatalf("other chains %+v", tr.Others)
	}
}

// TestExplainCoversEveryType is the coverage guard: every kind of Match and
// Verdict (testcfg's lists, which nat's own test keeps equal to nat's
// source) has a case in the evaluator's type switches, so a new kind of
// condition cannot be silently taken as "not matching".
func TestExplainCoversEveryType(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "explain.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]map[string]bool{} // function -> nat types in its type switch
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "matchFlow" && fn.Name.Name != "applyVerdict" {
			continue
		}
		set := map[string]bool{}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSwitchStmt); ok {
				for _, cl := range ts.Body.List {
					for _, e := range cl.(*ast.CaseClause).List {
						if sel, ok := e.(*ast.SelectorExpr); ok {
							set[sel.Sel.Name] = true
						}
					}
				}
			}
			return true
		})
		cases[fn.Name.Name] = set
	}
	// The kind lists are kept complete against nat's source by nat's
	// TestKindListsAreComplete.
	var matches, verdicts []string
	for _, m := range testcfg.MatchKinds() {
		matches = append(matches, reflect.TypeOf(m).Name())
	}
	for _, v := range testcfg.VerdictKinds() {
		verdicts = append(verdicts, reflect.TypeOf(v).Name())
	}
	for fn, kinds := range map[string][]string{"matchFlow": matches, "applyVerdict": verdicts} {
		for _, k := range kinds {
			if !cases[fn][k] {
				t.Errorf("nat.%s has no case in %s: explain would not evaluate it", k, fn)
			}
		}
	}
}

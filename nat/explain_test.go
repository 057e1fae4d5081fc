package nat

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func inFlow(src, dst string) Flow {
	f := Flow{Direction: Inbound, Dst: netip.MustParseAddrPort(dst), UID: NoID, GID: NoID}
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
	f.Route = &Route{Dst: f.Dst.Addr(), OIF: oif, Type: typ, NoRoute: noRoute}
	return f
}

func TestExplain(t *testing.T) {
	def := DefaultConfig()
	withLists := DefaultConfig()
	withLists.ProxyGID = 2103
	withLists.InboundPortsToIgnore = []PortRange{{4190, 4191}, {7000, 7010}}
	withLists.OutboundPortsToIgnore = []PortRange{{443, 443}}
	withLists.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	withLists.OutboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}
	listed := DefaultConfig()
	listed.PortsToRedirect = []PortRange{{8080, 8080}, {9000, 9010}}
	v4only := DefaultConfig()
	v4only.IPv6 = false

	for _, tc := range []struct {
		name      string
		cfg       Config
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
		{"outbound uid not given", def, outFlow("192.0.2.1:80", NoID, NoID, "eth0"), VerdictRedirect, 4140, "proxy-init/redirect-all-outgoing-to-proxy-port",
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
			tr, err := Explain(MustPlan(t, tc.cfg), tc.flow)
			if err != nil {
				t.Fatal(err)
			}
			var path []string
			for _, s := range tr.Path {
				c := strings.TrimPrefix(s.Comment, CommentPrefix)
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
		rs := MustPlan(t, DefaultConfig())
		c := rs.Table(IPv4).Chain(ChainOutput)
		c.Rules = slices.Insert(c.Rules, 0, &Rule{Unrecognised: "Meta{...} Cmp{...} Verdict{drop}"})
		tr, _ := Explain(rs, flow)
		if tr.Path[1].Matched || tr.Path[1].Comment != "" || !tr.Redirected() || len(tr.Notes) != 1 || !strings.Contains(tr.Notes[0], "not evaluated") {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("dormant table", func(t *testing.T) {
		rs := MustPlan(t, DefaultConfig())
		rs.Table(IPv4).Flags = 1
		tr, _ := Explain(rs, flow)
		if tr.Redirected() || tr.DecidedBy != DecidedByPolicy || len(tr.Path) != 0 || !strings.Contains(strings.Join(tr.Notes, ""), "dormant") {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("missing set", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.OutboundPortsToIgnore = []PortRange{{80, 80}}
		rs := MustPlan(t, cfg)
		rs.Table(IPv4).Sets = nil
		tr, _ := Explain(rs, flow)
		if !tr.Redirected() || !strings.Contains(strings.Join(tr.Notes, ""), "does not exist") {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("jump to a missing chain", func(t *testing.T) {
		rs := MustPlan(t, DefaultConfig())
		tbl := rs.Table(IPv4)
		tbl.Chains = slices.DeleteFunc(tbl.Chains, func(c *Chain) bool { return c.Name == ChainOutput })
		tr, _ := Explain(rs, flow)
		if tr.Redirected() || tr.DecidedBy != DecidedByPolicy || len(tr.Path) != 1 || !tr.Path[0].Matched {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("drop policy", func(t *testing.T) {
		rs := MustPlan(t, DefaultConfig())
		rs.Table(IPv4).Chain(ChainOutputBase).Hook.Policy = VerdictDrop
		tr, _ := Explain(rs, outFlow("192.0.2.1:80", 2102, 1000, "eth0"))
		if tr.Verdict != VerdictDrop || tr.DecidedBy != DecidedByPolicy {
			t.Fatalf("trace %+v", tr)
		}
	})
	t.Run("no table", func(t *testing.T) {
		tr, err := Explain(&Ruleset{}, flow)
		if err != nil || tr.Redirected() || tr.DecidedBy != DecidedByPolicy {
			t.Fatalf("trace %+v, %v", tr, err)
		}
	})
}

func TestExplainRefusesIncompleteFlows(t *testing.T) {
	rs := MustPlan(t, DefaultConfig())
	for _, f := range []Flow{
		{Direction: Inbound, UID: NoID, GID: NoID},
		{Direction: Inbound, Dst: netip.MustParseAddrPort("192.0.2.2:0"), UID: NoID, GID: NoID},
		{Direction: Inbound, Src: netip.MustParseAddrPort("[2001:db8::1]:1"), Dst: netip.MustParseAddrPort("192.0.2.2:80"), UID: NoID, GID: NoID},
		{Direction: Inbound, Dst: netip.MustParseAddrPort("[::ffff:192.0.2.2]:80"), UID: NoID, GID: NoID},
		{Direction: Outbound, Dst: netip.MustParseAddrPort("192.0.2.2:80"), UID: -5, GID: NoID},
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

// The JSON keys are documented in the README: verdict, port, decided_by,
// path (chain, comment, matched).
func TestExplainJSONKeys(t *testing.T) {
	tr, err := Explain(MustPlan(t, DefaultConfig()), inFlow("192.0.2.1", "192.0.2.2:8080"))
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
	listed := DefaultConfig()
	listed.PortsToRedirect = []PortRange{{80, 80}}
	tr, _ = Explain(MustPlan(t, listed), inFlow("192.0.2.1", "192.0.2.2:8080"))
	b, _ = json.Marshal(tr)
	if strings.Contains(string(b), `"port"`) || !strings.Contains(string(b), `"verdict":"accept"`) || !strings.Contains(string(b), `"decided_by":"policy"`) {
		t.Fatalf("json %s", b)
	}
}

func TestExplainNotesOtherChains(t *testing.T) {
	tr, _ := Explain(MustPlan(t, DefaultConfig()), inFlow("192.0.2.1", "192.0.2.2:8080"))
	tr.NoteOthers([]BaseChain{
		{Family: "ip", Table: TableName, Chain: ChainPrerouting, Type: "nat", Hook: "prerouting", Priority: -100},
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
	tr, _ = Explain(&Ruleset{}, inFlow("192.0.2.1", "192.0.2.2:8080"))
	tr.NoteOthers([]BaseChain{{Family: "ip", Table: "nat", Chain: "PREROUTING", Type: "nat", Hook: "prerouting", Priority: -100}})
	if len(tr.Others) != 1 || tr.Others[0].Order != "alone" {
		t.Fatalf("other chains %+v", tr.Others)
	}
}

// TestExplainCoversEveryType is the coverage guard: every type that
// implements Match or Verdict (found in this package's source, by the
// interfaces' method sets) has a case in the evaluator's type switches, so
// a new kind of condition cannot be silently taken as "not matching".
func TestExplainCoversEveryType(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	ifaces := map[string][]string{}       // interface -> method names
	methods := map[string][]string{}      // type -> method names
	cases := map[string]map[string]bool{} // function -> types in its type switch
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.TypeSpec:
				if it, ok := n.Type.(*ast.InterfaceType); ok {
					for _, m := range it.Methods.List {
						for _, id := range m.Names {
							ifaces[n.Name.Name] = append(ifaces[n.Name.Name], id.Name+signature(m.Type.(*ast.FuncType)))
						}
					}
				}
			case *ast.FuncDecl:
				if n.Recv != nil && len(n.Recv.List) == 1 {
					typ := n.Recv.List[0].Type
					if st, ok := typ.(*ast.StarExpr); ok {
						typ = st.X
					}
					if id, ok := typ.(*ast.Ident); ok {
						methods[id.Name] = append(methods[id.Name], n.Name.Name+signature(n.Type))
					}
				}
				if n.Name.Name == "matchFlow" || n.Name.Name == "applyVerdict" {
					set := map[string]bool{}
					ast.Inspect(n.Body, func(n ast.Node) bool {
						if ts, ok := n.(*ast.TypeSwitchStmt); ok {
							for _, cl := range ts.Body.List {
								for _, e := range cl.(*ast.CaseClause).List {
									if id, ok := e.(*ast.Ident); ok {
										set[id.Name] = true
									}
								}
							}
						}
						return true
					})
					cases[n.Name.Name] = set
				}
			}
			return true
		})
	}
	for iface, fn := range map[string]string{"Match": "matchFlow", "Verdict": "applyVerdict"} {
		want := ifaces[iface]
		if len(want) == 0 {
			t.Fatalf("interface %s not found or has no methods", iface)
		}
		found := 0
		for typ, ms := range methods {
			implements := true
			for _, m := range want {
				implements = implements && slices.Contains(ms, m)
			}
			if !implements {
				continue
			}
			found++
			if !cases[fn][typ] {
				t.Errorf("%s implements %s but %s has no case for it: explain would not evaluate it", typ, iface, fn)
			}
		}
		if found < 3 {
			t.Errorf("found only %d implementations of %s; the guard no longer sees them", found, iface)
		}
	}
}

// signature is a method's parameter and result types, without names, so
// that methods of the same name but another signature do not count.
func signature(ft *ast.FuncType) string {
	list := func(fl *ast.FieldList) string {
		if fl == nil {
			return ""
		}
		var ts []string
		for _, f := range fl.List {
			for range max(1, len(f.Names)) {
				ts = append(ts, types.ExprString(f.Type))
			}
		}
		return strings.Join(ts, ",")
	}
	return "(" + list(ft.Params) + ")(" + list(ft.Results) + ")"
}

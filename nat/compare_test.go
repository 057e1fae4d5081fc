package nat_test

import (
	"strings"
	"testing"

	. "github.com/proxy-init/netlink-native/nat"
)

// TestCompare: each kind of difference lands in its own field, and the text
// rendering is the line diff of the listings.
func TestCompare(t *testing.T) {
	want := MustPlan(t, fullConfig())
	if d := Compare(want, MustPlan(t, fullConfig())); !d.Empty() || d.String() != "" || len(d.Missing)+len(d.Added)+len(d.Changed)+len(d.Objects) != 0 {
		t.Fatalf("equal plans differ: %+v", d)
	}

	got := MustPlan(t, fullConfig())
	v4 := got.Table(IPv4)
	out := v4.Chain(ChainOutput)
	// A changed rule, a missing rule, a foreign rule, an extra element.
	out.Rules[0].Matches = []Match{SocketID{ID: 1}}
	out.Rules = out.Rules[:len(out.Rules)-1]
	out.Rules = append(out.Rules, &Rule{Unrecognised: "meta mark 0x1 accept"})
	s := v4.Set(SetInboundPortsIgnore)
	s.Elements = s.Elements[:1]
	// The ip6 table is gone.
	got.Tables = got.Tables[:1]

	d := Compare(want, got)
	if d.Empty() {
		t.Fatal("no difference found")
	}
	if len(d.Changed) != 1 || d.Changed[0].Want.Name != "ignore-proxy-user-id" || d.Changed[0].Family != IPv4 {
		t.Errorf("changed: %+v", d.Changed)
	}
	missing := map[string]bool{}
	for _, r := range d.Missing {
		missing[r.Family.String()+" "+r.Chain+" "+r.Rule.Name] = true
	}
	if !missing["ip PROXY_INIT_OUTPUT redirect-all-outgoing-to-proxy-port"] || !missing["ip6 PREROUTING install-proxy-init-prerouting"] {
		t.Errorf("missing: %v", missing)
	}
	if len(d.Added) != 1 || d.Added[0].Rule.Unrecognised == "" {
		t.Errorf("added: %+v", d.Added)
	}
	objects := map[string]bool{}
	for _, o := range d.Objects {
		objects[o.Family.String()+" "+o.Object+" "+o.Name] = true
	}
	if !objects["ip set "+SetInboundPortsIgnore] || !objects["ip6 table "+TableName] {
		t.Errorf("objects: %v", objects)
	}
	if text := d.String(); !strings.Contains(text, "-table ip6 proxy_init {") || !strings.Contains(text, "+\t\t# unrecognised rule: meta mark") {
		t.Errorf("text:\n%s", text)
	}
}

func TestCompareRuleOrder(t *testing.T) {
	want := MustPlan(t, DefaultConfig())
	got := MustPlan(t, DefaultConfig())
	rules := got.Table(IPv4).Chain(ChainOutput).Rules
	rules[0], rules[1] = rules[1], rules[0]
	d := Compare(want, got)
	if len(d.Objects) != 1 || d.Objects[0].Object != "rule order" || len(d.Missing)+len(d.Added)+len(d.Changed) != 0 {
		t.Fatalf("want one rule-order difference, got %+v", d)
	}
}

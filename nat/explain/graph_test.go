package explain

import (
	"flag"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// TestGraphGolden: the diagrams of the default and the full configuration,
// and of one connection's path, are byte-stable (go test -update rewrites
// them after a deliberate change; review the diff).
func TestGraphGolden(t *testing.T) {
	def, full := nattest.MustPlan(t, nat.DefaultConfig()), nattest.MustPlan(t, testcfg.Full())
	golden(t, "graph/default.mmd", Mermaid(def, nil))
	golden(t, "graph/default.dot", Dot(def, nil))
	golden(t, "graph/full.mmd", Mermaid(full, nil))
	golden(t, "graph/full.dot", Dot(full, nil))
	in, err := Explain(full, inFlow("10.1.2.3", "192.0.2.2:8080"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "graph/explain-inbound-subnet.mmd", Mermaid(full, in))
	golden(t, "graph/explain-inbound-subnet.dot", Dot(full, in))
	out, err := Explain(full, outFlow("[2001:db8:1::1]:80", 1000, 1000, "eth0"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "graph/explain-outbound-redirect.mmd", Mermaid(full, out))
}

var (
	mermaidNode = regexp.MustCompile(`^\s+(t\d+\w+)[\[(]`)
	mermaidEdge = regexp.MustCompile(`^\s+(\w+) -->(?:\|([^|]*)\|)? (\w+)$`)
)

// TestGraphShape checks the picture against the ruleset it is drawn from:
// one node per rule labelled with its comment, a hook and a policy node per
// base chain, every edge between drawn nodes, and the edges each verdict
// implies.
func TestGraphShape(t *testing.T) {
	rs := nattest.MustPlan(t, testcfg.Full())
	nodes, labels := map[string]bool{}, map[string]int{}
	count := map[string]int{}
	var edges [][3]string
	for _, l := range strings.Split(Mermaid(rs, nil), "\n") {
		if m := mermaidNode.FindStringSubmatch(l); m != nil {
			if nodes[m[1]] {
				t.Errorf("node %s drawn twice", m[1])
			}
			nodes[m[1]] = true
			if i := strings.Index(l, nat.CommentPrefix); i >= 0 {
				labels[strings.SplitN(l[i:], "<br/>", 2)[0]]++
			}
		}
		if m := mermaidEdge.FindStringSubmatch(l); m != nil {
			edges = append(edges, [3]string{m[1], m[2], m[3]})
			count[m[2]]++
		}
	}
	rules, matchers, returns, jumps, redirects := 0, 0, 0, 0, 0
	for _, tbl := range rs.Tables {
		for _, c := range tbl.Chains {
			for _, r := range c.Rules {
				rules++
				if len(r.Matches) > 0 {
					matchers++
				}
				switch r.Verdict.(type) {
				case nat.Return:
					returns++
				case nat.Jump:
					jumps++
				case nat.Redirect:
					redirects++
				}
				if labels[nat.CommentPrefix+r.Name] == 0 {
					t.Errorf("no node labelled %s%s", nat.CommentPrefix, r.Name)
				}
			}
		}
	}
	// Per table: 2 base chains (hook + policy each) and 2 redirect targets.
	if want := rules + len(rs.Tables)*(2*2+2); len(nodes) != want {
		t.Errorf("%d nodes, want %d", len(nodes), want)
	}
	for _, e := range edges {
		if !nodes[e[0]] || !nodes[e[2]] {
			t.Errorf("edge %v between nodes not drawn", e)
		}
	}
	// Each rule with conditions has one "no match" edge (every chain here
	// is entered from one place), each verdict one edge, each hook one.
	if count["no match"] != matchers || count["return"] != returns || count["jump"] != jumps || count["redirect"] != redirects || count[""] != 2*len(rs.Tables) {
		t.Errorf("edges by label %v; want no match %d, return %d, jump %d, redirect %d, entry %d", count, matchers, returns, jumps, redirects, 2*len(rs.Tables))
	}
}

// TestGraphHighlightsThePath: the nodes marked in explain's diagram are the
// hook, the rules the trace visited and where it ended; the marked edges
// join them in order.
func TestGraphHighlightsThePath(t *testing.T) {
	rs := nattest.MustPlan(t, testcfg.Full())
	for _, f := range []Flow{
		inFlow("10.1.2.3", "192.0.2.2:8080"),                 // ignored subnet
		inFlow("192.0.2.1", "192.0.2.2:9005"),                // listed port
		inFlow("192.0.2.1", "192.0.2.2:22"),                  // not listed: policy
		outFlow("192.0.2.1:80", 1000, 1000, "eth0"),          // redirect
		outFlow("[2001:db8::5]:80", 1000, 1000, "eth0"),      // ignored subnet, v6
		outFlow("127.0.0.1:80", 2103, 2103, ""),              // gid
		outFlow("[2001:db8:1::1]:65535", 1000, 1000, "eth0"), // ignored port, v6
	} {
		tr, err := Explain(rs, f)
		if err != nil {
			t.Fatal(err)
		}
		g := buildGraph(rs, tr)
		var hot []string
		for _, c := range g.clusters {
			for _, n := range c.nodes {
				if n.hot {
					hot = append(hot, n.id)
				}
			}
		}
		for _, n := range g.outside {
			if n.hot {
				hot = append(hot, n.id)
			}
		}
		hotEdges := 0
		for _, e := range g.edges {
			if e.hot {
				hotEdges++
				if !slices.Contains(hot, e.from) || !slices.Contains(hot, e.to) {
					t.Errorf("%v: marked edge %s -> %s leaves the marked nodes", f.Dst, e.from, e.to)
				}
			}
		}
		// hook + each step + the end; one edge between each consecutive pair.
		if len(hot) != len(tr.Path)+2 || hotEdges != len(tr.Path)+1 {
			t.Errorf("%v (%s by %s): %d marked nodes %v and %d marked edges for a path of %d", f.Dst, tr.Verdict, tr.DecidedBy, len(hot), hot, hotEdges, len(tr.Path))
		}
		for _, tbl := range g.clusters {
			if !strings.HasPrefix(tbl.label, tr.Table) {
				t.Errorf("explain of a %s connection draws %s", tr.Table, tbl.label)
			}
		}
	}
}

// Labels are escaped for each syntax: a quote in an interface name must not
// end a label early.
func TestGraphEscapesLabels(t *testing.T) {
	rs := &nat.Ruleset{Tables: []*nat.Table{{Family: nat.IPv4, Name: nat.TableName, Chains: []*nat.Chain{
		{Name: "OUTPUT", Hook: &nat.Hook{Name: "output", Priority: -100, Type: "nat", Policy: "accept"}, Rules: []*nat.Rule{
			{Name: `odd"name`, Matches: []nat.Match{nat.OIFName{Name: `a"b#<c>`}}, Verdict: nat.Return{}},
			{Unrecognised: `Meta{Key:"x"} ` + strings.Repeat("Cmp ", 30)},
		}},
	}}}}
	m := Mermaid(rs, nil)
	for _, l := range strings.Split(m, "\n") {
		if i := strings.Index(l, `["`); i >= 0 && strings.Count(l[i+2:], `"`) != 1 {
			t.Errorf("mermaid label not escaped: %s", l)
		}
	}
	d := Dot(rs, nil)
	for _, l := range strings.Split(d, "\n") {
		if i := strings.Index(l, `label="`); i >= 0 {
			rest := l[i+7:]
			end := strings.Index(strings.ReplaceAll(rest, `\"`, "__"), `"`)
			if end < 0 || !strings.HasPrefix(rest[end:], `"`) || (len(rest) > end+1 && rest[end+1] != ',' && rest[end+1] != ']' && rest[end+1] != ';') {
				t.Errorf("dot label not escaped: %s", l)
			}
		}
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	testcfg.Golden(t, filepath.Join("testdata", name), got, *update)
}

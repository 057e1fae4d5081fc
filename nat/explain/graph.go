package explain

import (
	"fmt"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
)

// The chains as a picture: one node per rule, labelled with its comment and
// its conditions, a node where each base chain is hooked and one for its
// policy, one per redirect target, and edges for "no match" (the next
// rule), jumps, returns and redirects. Drawn from a Ruleset, so the picture
// of the plan or of the live rules cannot drift from what is installed. A
// Trace highlights one connection's path through it.

// graph is the diagram's nodes and edges, in a fixed order so the output
// is stable (docs/explain.md embeds one, checked by a golden test).
type graph struct {
	clusters []cluster
	outside  []node // redirect targets
	edges    []edge
}

type cluster struct {
	id, label string
	nodes     []node
}

type nodeShape int

const (
	shapeRule nodeShape = iota
	shapeHook
	shapeEnd
)

type node struct {
	id    string
	lines []string
	shape nodeShape
	hot   bool // on the highlighted path
}

type edge struct {
	from, to, label string
	kind            edgeKind
	hot             bool
}

type edgeKind int

const (
	edgeEntry   edgeKind = iota // hook -> first rule
	edgeNoMatch                 // a rule's conditions fail, or none is left
	edgeVerdict                 // a matched rule's verdict
)

func ruleID(ti, ci, ri int) string { return fmt.Sprintf("t%dc%dr%d", ti, ci, ri) }
func hookID(ti, ci int) string     { return fmt.Sprintf("t%dc%dhook", ti, ci) }
func policyID(ti, ci int) string   { return fmt.Sprintf("t%dc%dpolicy", ti, ci) }
func redirID(ti int, p uint16) string {
	return fmt.Sprintf("t%dredirect%d", ti, p)
}

// buildGraph lays out the tables of rs; with tr, only the trace's table,
// with its path marked.
func buildGraph(rs *nat.Ruleset, tr *Trace) *graph {
	g := &graph{}
	for ti, t := range rs.Tables {
		if tr != nil && t.Family != tr.family {
			continue
		}
		g.addTable(ti, t)
		if tr != nil {
			g.markPath(ti, t, tr)
		}
	}
	return g
}

func (g *graph) addTable(ti int, t *nat.Table) {
	index := map[string]int{}
	for ci, c := range t.Chains {
		index[c.Name] = ci
	}
	// callers[ci] are the rules that jump to chain ci: where a return or
	// the end of that chain continues.
	callers := map[int][][2]int{}
	for ci, c := range t.Chains {
		for ri, r := range c.Rules {
			if j, ok := r.Verdict.(nat.Jump); ok {
				if target, ok := index[j.Chain]; ok {
					callers[target] = append(callers[target], [2]int{ci, ri})
				}
			}
		}
	}
	// after is where evaluation continues once rule ri of chain ci is done
	// with, without a verdict: the next rule, the policy of a base chain,
	// or, for a regular chain's last rule, after each of its callers.
	var after func(ci, ri int, seen map[int]bool) []string
	after = func(ci, ri int, seen map[int]bool) []string {
		c := t.Chains[ci]
		if ri+1 < len(c.Rules) {
			return []string{ruleID(ti, ci, ri+1)}
		}
		if c.Hook != nil {
			return []string{policyID(ti, ci)}
		}
		return leave(ci, seen, after, callers)
	}
	entry := func(ci int) []string {
		if len(t.Chains[ci].Rules) > 0 {
			return []string{ruleID(ti, ci, 0)}
		}
		if t.Chains[ci].Hook != nil {
			return []string{policyID(ti, ci)}
		}
		return leave(ci, map[int]bool{}, after, callers)
	}
	redirects := map[uint16]bool{}
	// Base chains first: the picture reads from where packets enter.
	var order []int
	for _, base := range []bool{true, false} {
		for ci, c := range t.Chains {
			if (c.Hook != nil) == base {
				order = append(order, ci)
			}
		}
	}
	for _, ci := range order {
		c := t.Chains[ci]
		cl := cluster{id: fmt.Sprintf("t%dc%d", ti, ci), label: fmt.Sprintf("%s %s: %s", t.Family, t.Name, c.Name)}
		if c.Hook != nil {
			cl.nodes = append(cl.nodes, node{id: hookID(ti, ci), shape: shapeHook,
				lines: []string{c.Name, fmt.Sprintf("type %s hook %s priority %s", c.Hook.Type, c.Hook.Name, c.Hook.PriorityText())}})
			for _, to := range entry(ci) {
				g.edges = append(g.edges, edge{from: hookID(ti, ci), to: to, kind: edgeEntry})
			}
		}
		for ri, r := range c.Rules {
			id := ruleID(ti, ci, ri)
			cl.nodes = append(cl.nodes, node{id: id, lines: ruleLines(t, r)})
			if len(r.Matches) > 0 || r.Unrecognised != "" {
				for _, to := range after(ci, ri, map[int]bool{}) {
					g.edges = append(g.edges, edge{from: id, to: to, label: "no match", kind: edgeNoMatch})
				}
			}
			switch v := r.Verdict.(type) {
			case nat.Jump:
				if target, ok := index[v.Chain]; ok {
					for _, to := range entry(target) {
						g.edges = append(g.edges, edge{from: id, to: to, label: "jump", kind: edgeVerdict})
					}
				}
			case nat.Return:
				var tos []string
				if c.Hook != nil {
					tos = []string{policyID(ti, ci)}
				} else {
					tos = leave(ci, map[int]bool{}, after, callers)
				}
				for _, to := range tos {
					g.edges = append(g.edges, edge{from: id, to: to, label: "return", kind: edgeVerdict})
				}
			case nat.Redirect:
				if !redirects[v.Port] {
					redirects[v.Port] = true
					g.outside = append(g.outside, node{id: redirID(ti, v.Port), shape: shapeEnd,
						lines: []string{fmt.Sprintf("%s: redirect to :%d", t.Family, v.Port), "the proxy reads the original destination"}})
				}
				g.edges = append(g.edges, edge{from: id, to: redirID(ti, v.Port), label: "redirect", kind: edgeVerdict})
			}
		}
		if c.Hook != nil {
			cl.nodes = append(cl.nodes, node{id: policyID(ti, ci), shape: shapeEnd,
				lines: []string{"policy " + c.Hook.Policy, "not redirected"}})
		}
		g.clusters = append(g.clusters, cl)
	}
}

// leave is where a regular chain continues when it returns: after each rule
// that jumps to it. A chain nobody jumps to leads nowhere.
func leave(ci int, seen map[int]bool, after func(int, int, map[int]bool) []string, callers map[int][][2]int) []string {
	if seen[ci] {
		return nil
	}
	seen[ci] = true
	var out []string
	for _, c := range callers[ci] {
		out = append(out, after(c[0], c[1], seen)...)
	}
	return out
}

// ruleLines labels a rule's node: its comment, its conditions, and the
// elements of the sets it looks up.
func ruleLines(t *nat.Table, r *nat.Rule) []string {
	if r.Unrecognised != "" {
		s := r.Unrecognised
		if len(s) > 60 {
			s = s[:60] + "..."
		}
		return []string{"unrecognised rule", s}
	}
	lines := []string{nat.CommentPrefix + r.Name}
	var conds []string
	for _, m := range r.Matches {
		conds = append(conds, nat.MatchText(m, t.Family))
	}
	if len(conds) == 0 {
		conds = append(conds, "every packet")
	}
	lines = append(lines, strings.Join(conds, " "))
	for _, m := range r.Matches {
		var set string
		switch m := m.(type) {
		case nat.DPortInSet:
			set = m.Set
		case nat.AddrInSet:
			set = m.Set
		}
		if s := t.Set(set); s != nil && s.Unrecognised == "" {
			lines = append(lines, "@"+set+" = "+summary(s))
		}
	}
	return lines
}

// markPath marks the nodes and edges the trace went through: the hook, each
// rule visited, and the redirect or the policy it ended at.
func (g *graph) markPath(ti int, t *nat.Table, tr *Trace) {
	index := map[string]int{}
	for ci, c := range t.Chains {
		index[c.Name] = ci
	}
	if len(tr.Path) == 0 {
		return
	}
	type hop struct {
		id   string
		kind edgeKind // of the edge leaving it
	}
	first := index[tr.Path[0].Chain]
	hops := []hop{{hookID(ti, first), edgeEntry}}
	base := first
	for _, s := range tr.Path {
		ci := index[s.Chain]
		if t.Chains[ci].Hook != nil {
			base = ci
		}
		k := edgeNoMatch
		if s.Matched {
			k = edgeVerdict
		}
		hops = append(hops, hop{ruleID(ti, ci, s.Index), k})
	}
	end := policyID(ti, base)
	if tr.Redirected() {
		end = redirID(ti, tr.Port)
	}
	hops = append(hops, hop{id: end})
	hot := map[string]bool{}
	for i, h := range hops {
		hot[h.id] = true
		if i+1 == len(hops) {
			break
		}
		for j := range g.edges {
			e := &g.edges[j]
			if e.from == h.id && e.to == hops[i+1].id && e.kind == h.kind {
				e.hot = true
				break
			}
		}
	}
	for ci := range g.clusters {
		for ni := range g.clusters[ci].nodes {
			g.clusters[ci].nodes[ni].hot = hot[g.clusters[ci].nodes[ni].id]
		}
	}
	for ni := range g.outside {
		g.outside[ni].hot = hot[g.outside[ni].id]
	}
}

// Mermaid renders the ruleset as a Mermaid flowchart (GitHub renders it in
// Markdown). With tr, it draws the trace's table with the path marked.
func Mermaid(rs *nat.Ruleset, tr *Trace) string { return buildGraph(rs, tr).mermaid() }

// Dot renders the ruleset as a Graphviz digraph. With tr, it draws the
// trace's table with the path marked.
func Dot(rs *nat.Ruleset, tr *Trace) string { return buildGraph(rs, tr).dot() }

func mermaidText(lines []string) string {
	esc := strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;")
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = esc.Replace(l)
	}
	return `"` + strings.Join(out, "<br/>") + `"`
}

func (g *graph) mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	writeNode := func(indent string, n node) {
		open, close := "[", "]"
		switch n.shape {
		case shapeHook:
			open, close = "([", "])"
		case shapeEnd:
			open, close = "(", ")"
		}
		fmt.Fprintf(&b, "%s%s%s%s%s\n", indent, n.id, open, mermaidText(n.lines), close)
	}
	var hot []string
	for _, c := range g.clusters {
		fmt.Fprintf(&b, "  subgraph %s[%s]\n", c.id, mermaidText([]string{c.label}))
		for _, n := range c.nodes {
			writeNode("    ", n)
			if n.hot {
				hot = append(hot, n.id)
			}
		}
		b.WriteString("  end\n")
	}
	for _, n := range g.outside {
		writeNode("  ", n)
		if n.hot {
			hot = append(hot, n.id)
		}
	}
	var hotEdges []string
	for i, e := range g.edges {
		if e.label != "" {
			fmt.Fprintf(&b, "  %s -->|%s| %s\n", e.from, e.label, e.to)
		} else {
			fmt.Fprintf(&b, "  %s --> %s\n", e.from, e.to)
		}
		if e.hot {
			hotEdges = append(hotEdges, fmt.Sprint(i))
		}
	}
	if len(hot) > 0 {
		b.WriteString("  classDef path fill:#fde2e2,stroke:#c62828,stroke-width:3px\n")
		fmt.Fprintf(&b, "  class %s path\n", strings.Join(hot, ","))
	}
	if len(hotEdges) > 0 {
		fmt.Fprintf(&b, "  linkStyle %s stroke:#c62828,stroke-width:3px\n", strings.Join(hotEdges, ","))
	}
	return b.String()
}

func dotText(lines []string) string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = esc.Replace(l)
	}
	return `"` + strings.Join(out, `\n`) + `"`
}

func (g *graph) dot() string {
	var b strings.Builder
	b.WriteString("digraph proxy_init {\n\trankdir=TB;\n\tnode [shape=box, fontname=\"monospace\"];\n\tedge [fontname=\"monospace\"];\n")
	writeNode := func(indent string, n node) {
		attrs := "label=" + dotText(n.lines)
		switch n.shape {
		case shapeHook:
			attrs += ", shape=cds"
		case shapeEnd:
			attrs += ", shape=oval"
		}
		if n.hot {
			attrs += ", color=\"#c62828\", penwidth=3, style=filled, fillcolor=\"#fde2e2\""
		}
		fmt.Fprintf(&b, "%s%s [%s];\n", indent, n.id, attrs)
	}
	for _, c := range g.clusters {
		fmt.Fprintf(&b, "\tsubgraph cluster_%s {\n\t\tlabel=%s;\n", c.id, dotText([]string{c.label}))
		for _, n := range c.nodes {
			writeNode("\t\t", n)
		}
		b.WriteString("\t}\n")
	}
	for _, n := range g.outside {
		writeNode("\t", n)
	}
	for _, e := range g.edges {
		var attrs []string
		if e.label != "" {
			attrs = append(attrs, "label="+dotText([]string{e.label}))
		}
		if e.hot {
			attrs = append(attrs, "color=\"#c62828\"", "penwidth=3")
		}
		if len(attrs) > 0 {
			fmt.Fprintf(&b, "\t%s -> %s [%s];\n", e.from, e.to, strings.Join(attrs, ", "))
		} else {
			fmt.Fprintf(&b, "\t%s -> %s;\n", e.from, e.to)
		}
	}
	b.WriteString("}\n")
	return b.String()
}

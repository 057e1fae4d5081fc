package nat

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/proxy-init/netlink-native/internal/linediff"
)

// RulesetDiff is the difference between a planned ruleset and what a
// namespace holds, as data: rules missing, added and changed, and the
// differences of tables, sets and chains. String renders it as a line diff
// of the two listings (- planned, + live), the form `verify` prints.
type RulesetDiff struct {
	// Missing are planned rules the live tables lack.
	Missing []RuleRef
	// Added are live rules the plan lacks, among them rules that are not
	// ours at all (Rule.Unrecognised set).
	Added []RuleRef
	// Changed are rules of the same chain and name whose content differs.
	Changed []RuleChange
	// Objects are the differences of tables, sets and chains, and of the
	// order of rules in a chain.
	Objects []ObjectChange

	want, got string // the listings, without counters
}

// RuleRef places a rule in a table's chain.
type RuleRef struct {
	Family Family
	Chain  string
	Rule   *Rule
}

func (r RuleRef) String() string {
	return fmt.Sprintf("%s %s %s: %s", r.Family, TableName, r.Chain, r.Rule.Text(r.Family))
}

// RuleChange is a rule planned and live under the same name, with different
// content.
type RuleChange struct {
	Family    Family
	Chain     string
	Want, Got *Rule
}

// ObjectChange is a table, set or chain that is missing, extra or different.
// Want and Got describe each side in nft's words; an empty one is absent.
type ObjectChange struct {
	Family Family
	Object string // "table", "set", "chain" or "rule order"
	Name   string // the set's or chain's name; the table's for "table"
	Want   string
	Got    string
}

// Empty reports whether the live tables equal the plan.
func (d *RulesetDiff) Empty() bool { return d == nil || d.want == d.got }

// String is the line diff of the two listings, "" when equal.
func (d *RulesetDiff) String() string {
	if d.Empty() {
		return ""
	}
	return linediff.Diff(d.want, d.got)
}

// Compare returns the difference between the planned ruleset want and the
// live ruleset got. Counters are ignored.
func Compare(want, got *Ruleset) *RulesetDiff {
	d := &RulesetDiff{want: want.Listing(false), got: got.Listing(false)}
	if d.want == d.got {
		return d
	}
	for _, f := range []Family{IPv4, IPv6} {
		wt, gt := want.Table(f), got.Table(f)
		switch {
		case wt == nil && gt == nil:
			continue
		case wt == nil:
			d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "table", Name: gt.Name, Got: "table " + f.String() + " " + gt.Name})
			d.Added = append(d.Added, tableRules(f, gt)...)
			continue
		case gt == nil:
			d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "table", Name: wt.Name, Want: "table " + f.String() + " " + wt.Name})
			d.Missing = append(d.Missing, tableRules(f, wt)...)
			continue
		}
		d.compareTable(f, wt, gt)
	}
	if len(d.Missing)+len(d.Added)+len(d.Changed)+len(d.Objects) == 0 {
		// A difference the model does not name (it should not happen);
		// the listing still shows it.
		d.Objects = append(d.Objects, ObjectChange{Object: "ruleset", Want: "as planned", Got: "different listing"})
	}
	return d
}

func tableRules(f Family, t *Table) []RuleRef {
	var out []RuleRef
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			out = append(out, RuleRef{f, c.Name, r})
		}
	}
	return out
}

func (d *RulesetDiff) compareTable(f Family, wt, gt *Table) {
	if wt.Flags != gt.Flags {
		d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "table", Name: wt.Name,
			Want: fmt.Sprintf("flags 0x%x", wt.Flags), Got: fmt.Sprintf("flags 0x%x", gt.Flags)})
	}
	for _, ws := range wt.Sets {
		gs := gt.Set(ws.Name)
		if gs == nil {
			d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "set", Name: ws.Name, Want: setSummary(ws)})
		} else if !setsEqual(ws, gs) {
			d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "set", Name: ws.Name, Want: setSummary(ws), Got: setSummary(gs)})
		}
	}
	for _, gs := range gt.Sets {
		if wt.Set(gs.Name) == nil {
			d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "set", Name: gs.Name, Got: setSummary(gs)})
		}
	}
	for _, wc := range wt.Chains {
		gc := gt.Chain(wc.Name)
		if gc == nil {
			d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "chain", Name: wc.Name, Want: chainSummary(wc)})
			for _, r := range wc.Rules {
				d.Missing = append(d.Missing, RuleRef{f, wc.Name, r})
			}
			continue
		}
		if chainSummary(wc) != chainSummary(gc) {
			d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "chain", Name: wc.Name, Want: chainSummary(wc), Got: chainSummary(gc)})
		}
		d.compareRules(f, wc, gc)
	}
	for _, gc := range gt.Chains {
		if wt.Chain(gc.Name) == nil {
			d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "chain", Name: gc.Name, Got: chainSummary(gc)})
			for _, r := range gc.Rules {
				d.Added = append(d.Added, RuleRef{f, gc.Name, r})
			}
		}
	}
}

// compareRules pairs the rules of a chain by name: our names are unique in a
// chain, and a live rule that is not ours has none.
func (d *RulesetDiff) compareRules(f Family, wc, gc *Chain) {
	find := func(rules []*Rule, name string) *Rule {
		for _, r := range rules {
			if r.Unrecognised == "" && r.Name == name {
				return r
			}
		}
		return nil
	}
	var wantOrder, gotOrder []string
	for _, w := range wc.Rules {
		g := find(gc.Rules, w.Name)
		switch {
		case g == nil:
			d.Missing = append(d.Missing, RuleRef{f, wc.Name, w})
		case w.Text(f) != g.Text(f):
			d.Changed = append(d.Changed, RuleChange{f, wc.Name, w, g})
		default:
			wantOrder = append(wantOrder, w.Name)
		}
	}
	for _, g := range gc.Rules {
		if g.Unrecognised != "" || find(wc.Rules, g.Name) == nil {
			d.Added = append(d.Added, RuleRef{f, gc.Name, g})
		} else if slices.Contains(wantOrder, g.Name) {
			gotOrder = append(gotOrder, g.Name)
		}
	}
	if !slices.Equal(wantOrder, gotOrder) {
		d.Objects = append(d.Objects, ObjectChange{Family: f, Object: "rule order", Name: wc.Name,
			Want: fmt.Sprint(wantOrder), Got: fmt.Sprint(gotOrder)})
	}
}

func setSummary(s *Set) string {
	if s.Unrecognised != "" {
		return "set " + s.Name + ": " + s.Unrecognised
	}
	return fmt.Sprintf("set %s { type %s; flags interval; %d elements }", s.Name, s.Key, len(s.Elements))
}

func setsEqual(a, b *Set) bool {
	if a.Key != b.Key || a.Unrecognised != b.Unrecognised || len(a.Elements) != len(b.Elements) {
		return false
	}
	for i, e := range a.Elements {
		if !bytes.Equal(e.First, b.Elements[i].First) || !bytes.Equal(e.Last, b.Elements[i].Last) {
			return false
		}
	}
	return true
}

func chainSummary(c *Chain) string {
	if c.Hook == nil {
		return "chain " + c.Name
	}
	return fmt.Sprintf("chain %s { type %s hook %s priority %s; policy %s; }", c.Name, c.Hook.Type, c.Hook.Name, c.Hook.PriorityText(), c.Hook.Policy)
}

package nat

import (
	"fmt"
	"io/fs"
	"slices"
)

// Validate reports what both engines (*kernel.Client, *Fake) refuse of a
// Ruleset before anything is sent, which no plan has but a hand-made or
// altered Ruleset may:
//
//   - a table that is not ours (a name other than TableName, a family other
//     than ip and ip6, or a family twice): the kernel would create or change
//     it, and Live, Verify and Remove, which see only our tables, would
//     never show or remove it. A *KernelError of OpCreateTable, KindOther.
//   - a rule that looks up a set or jumps to a chain its table lacks. The
//     kernel refuses it with ENOENT, the errno it also gives for a missing
//     expression module, so it would be misreported as a missing kernel
//     feature. A *KernelError of OpAddRule, KindOther, matching
//     fs.ErrNotExist.
//   - a set or rule that has no kernel encoding: one read back that is not
//     ours (Unrecognised set, as Live returns a foreign rule), a rule
//     without a verdict or with a nil match. A *KernelError of OpCreateSet
//     or OpAddRule, KindOther.
//   - a base chain the kernel layer cannot install as written: a hook other
//     than prerouting and output, a type other than nat, a policy other
//     than accept. Lowering knows only those two hooks and always creates
//     the policy accept, so the kernel would hold something else than the
//     Ruleset says and Verify would differ forever. A *ConfigError
//     (IsConfig): it is the Ruleset that is wrong, not the kernel.
func (rs *Ruleset) Validate() error {
	seen := map[Family]bool{}
	for _, t := range rs.Tables {
		if t.Name != TableName || (t.Family != IPv4 && t.Family != IPv6) || seen[t.Family] {
			fam := t.Family.String()
			if t.Family != IPv4 && t.Family != IPv6 {
				fam = fmt.Sprintf("family %d", t.Family)
			}
			return NewKernelError(OpCreateTable, KindOther, fmt.Errorf("create table %s %s: not one of ours (one table %s in each of ip and ip6): an engine touches no other table",
				fam, t.Name, TableName))
		}
		seen[t.Family] = true
	}
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if err := validateHook(t, c); err != nil {
				return err
			}
		}
		for _, st := range t.Sets {
			if st.Unrecognised != "" {
				return NewKernelError(OpCreateSet, KindOther, fmt.Errorf("create set %s %s %s: not a set proxy-init creates (%s), so it has no encoding to install", t.Family, t.Name, st.Name, st.Unrecognised))
			}
		}
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				if r.Unrecognised != "" || r.Verdict == nil || slices.Contains(r.Matches, nil) {
					what := "a rule without a verdict or with a nil match"
					if r.Unrecognised != "" {
						what = "a rule proxy-init does not write (" + r.Unrecognised + ")"
					}
					return NewKernelError(OpAddRule, KindOther, fmt.Errorf("add rule %s %s %s: %s has no encoding to install", t.Family, t.Name, c.Name, what))
				}
				for _, name := range references(r) {
					if name.set && t.Set(name.name) == nil || !name.set && t.Chain(name.name) == nil {
						return NewKernelError(OpAddRule, KindOther, fmt.Errorf("add rule %s %s %s %q: %s %s does not exist: %w",
							t.Family, t.Name, c.Name, r.Comment(), name.kind(), name.name, fs.ErrNotExist))
					}
				}
			}
		}
	}
	return nil
}

type ref struct {
	set  bool
	name string
}

func (r ref) kind() string {
	if r.set {
		return "set"
	}
	return "chain"
}

func references(r *Rule) []ref {
	var out []ref
	for _, m := range r.Matches {
		switch m := m.(type) {
		case DPortInSet:
			out = append(out, ref{true, m.Set})
		case AddrInSet:
			out = append(out, ref{true, m.Set})
		}
	}
	if j, ok := r.Verdict.(Jump); ok {
		out = append(out, ref{false, j.Chain})
	}
	return out
}

// validateHook refuses a base chain that lowering would change: it maps
// every hook but output to prerouting and creates every base chain with
// policy accept (see kernel's addTables).
func validateHook(t *Table, c *Chain) error {
	h := c.Hook
	if h == nil {
		return nil
	}
	where := fmt.Sprintf("base chain %s %s %s", t.Family, t.Name, c.Name)
	switch {
	case h.Name != "prerouting" && h.Name != "output":
		return &ConfigError{Field: FieldRuleset, Value: h.Name, Reason: where + ": hook must be prerouting or output, the only hooks proxy-init installs"}
	case h.Type != "nat":
		return &ConfigError{Field: FieldRuleset, Value: h.Type, Reason: where + ": type must be nat, the only chain type proxy-init installs"}
	case h.Policy != "accept":
		return &ConfigError{Field: FieldRuleset, Value: h.Policy, Reason: where + ": policy must be accept, the only policy proxy-init installs"}
	}
	return nil
}

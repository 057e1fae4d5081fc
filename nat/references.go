package nat

import (
	"fmt"
	"io/fs"
)

// CheckReferences reports a rule that looks up a set or jumps to a chain
// its table lacks, which no plan has but a hand-made or altered Ruleset may.
// The kernel refuses such a rule with ENOENT, the errno it also gives for a
// missing expression module, so it could only be misreported as a missing
// kernel feature: both engines (*kernel.Client, *Fake) check first, and
// refuse it as a *KernelError of OpAddRule, KindOther, matching
// fs.ErrNotExist, before anything changes.
func (rs *Ruleset) CheckReferences() error {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			for _, r := range c.Rules {
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

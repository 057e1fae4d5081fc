package harness

import (
	"errors"
	"fmt"

	"github.com/proxy-init/netlink-native/nat"
)

// DropRule removes the rule called name from chain in every table of rs and
// fails if some table has no such rule, so a renamed rule cannot make a
// "broken rule" test pass vacuously.
func DropRule(rs *nat.Ruleset, chain, name string) error {
	for _, tbl := range rs.Tables {
		ch := tbl.Chain(chain)
		if ch == nil {
			return fmt.Errorf("table %s %s has no chain %s", tbl.Family, tbl.Name, chain)
		}
		kept := ch.Rules[:0:0]
		for _, r := range ch.Rules {
			if r.Name != name {
				kept = append(kept, r)
			}
		}
		if len(kept) == len(ch.Rules) {
			return fmt.Errorf("table %s %s chain %s has no rule %q", tbl.Family, tbl.Name, chain, name)
		}
		ch.Rules = kept
	}
	if len(rs.Tables) == 0 {
		return errors.New("plan has no tables")
	}
	return nil
}

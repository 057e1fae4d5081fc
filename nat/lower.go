package nat

import (
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"golang.org/x/sys/unix"
)

// addTables appends the creation of every table of the ruleset to b: sets and
// their elements, then all chains, then the rules, so that every reference
// points at something created earlier in the same transaction.
func (r *Ruleset) addTables(b *nfnl.Batch, exclusive bool) {
	b.Grow(r.encodedSizeHint())
	for _, t := range r.Tables {
		fam := uint8(t.Family)
		b.AddTable(fam, t.Name, exclusive)
		for _, s := range t.Sets {
			b.AddIntervalSet(fam, t.Name, s.Name, s.Key.datatype(), uint32(s.Key.KeyLen()))
			b.AddIntervals(fam, t.Name, s.Name, len(s.Elements), s.interval)
		}
		for _, c := range t.Chains {
			var hook *nfnl.BaseHook
			if c.Hook != nil {
				hook = &nfnl.BaseHook{Num: hookNum(c.Hook.Name), Priority: c.Hook.Priority, Type: c.Hook.Type}
			}
			b.AddChain(fam, t.Name, c.Name, hook)
		}
		for _, c := range t.Chains {
			for _, rule := range c.Rules {
				// Concatenated, not formatted: this runs for every rule on the
				// install path, and is only read if the kernel refuses the rule.
				b.AddRule(fam, t.Name, c.Name, rule.Exprs(t.Family), rule.UserData(),
					"add rule "+t.Family.String()+" "+t.Name+" "+c.Name+` "`+CommentPrefix+rule.Name+`"`)
			}
		}
	}
}

// encodedSizeHint is about the batch's size: per interval a start and an
// end element of three attribute headers and the aligned key each, and the
// end's flags (see nfnl.IntervalElements); a few hundred bytes per set,
// chain and rule message.
func (r *Ruleset) encodedSizeHint() int {
	n := 0
	for _, t := range r.Tables {
		for _, s := range t.Sets {
			key := (s.Key.KeyLen() + 3) &^ 3
			n += len(s.Elements)*(2*(12+key)+8) + 512
		}
		for _, c := range t.Chains {
			n += 512 * (1 + len(c.Rules))
		}
	}
	return n
}

func hookNum(name string) uint32 {
	if name == "output" {
		return unix.NF_INET_LOCAL_OUT
	}
	return unix.NF_INET_PRE_ROUTING
}

func (k KeyType) datatype() uint32 {
	switch k {
	case KeyIPv4:
		return nfnl.TypeIPv4Addr
	case KeyIPv6:
		return nfnl.TypeIPv6Addr
	}
	return nfnl.TypeInetServic
}

func (s *Set) interval(i int) (first, last []byte) {
	return s.Elements[i].First, s.Elements[i].Last
}

// decrement returns key-1 for a non-zero key.
func decrement(key []byte) []byte {
	out := append([]byte(nil), key...)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]--
		if out[i] != 0xff {
			break
		}
	}
	return out
}

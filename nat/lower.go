package nat

import (
	"math/big"

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
			b.AddElements(fam, t.Name, s.Name, s.elements())
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

// encodedSizeHint estimates the batch size: up to two set elements per
// interval of at most 48 bytes each, and a few hundred bytes per rule.
func (r *Ruleset) encodedSizeHint() int {
	n := 0
	for _, t := range r.Tables {
		for _, s := range t.Sets {
			n += 2 * len(s.Elements) * (28 + s.Key.KeyLen())
		}
		n += 512*(len(t.Sets)+len(t.Chains)) + 512*r.RuleCount()/len(r.Tables)
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

// elements encodes the intervals the way nft does for the kernel's interval
// sets: a start key, then an end marker at the first key past the range
// (omitted when the range reaches the top of the key space), preceded by an
// end marker at key zero when the first range does not start there.
func (s *Set) elements() []nfnl.Element {
	out := make([]nfnl.Element, 0, 2*len(s.Elements)+1)
	if len(s.Elements) > 0 && !isZero(s.Elements[0].First) {
		out = append(out, nfnl.Element{Key: make([]byte, len(s.Elements[0].First)), End: true})
	}
	for _, e := range s.Elements {
		out = append(out, nfnl.Element{Key: e.First})
		if next, ok := increment(e.Last); ok {
			out = append(out, nfnl.Element{Key: next, End: true})
		}
	}
	return out
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// increment returns key+1, or false when key is the largest of its length.
func increment(key []byte) ([]byte, bool) {
	out := append([]byte(nil), key...)
	for i := len(out) - 1; i >= 0; i-- {
		out[i]++
		if out[i] != 0 {
			return out, true
		}
	}
	return nil, false
}

// decrement returns key-1 for a non-zero key.
func decrement(key []byte) []byte {
	n := new(big.Int).SetBytes(key)
	n.Sub(n, big.NewInt(1))
	return n.FillBytes(make([]byte, len(key)))
}

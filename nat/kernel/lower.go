//go:build linux

package kernel

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
)

// addTables appends the creation of every table of the ruleset to b: sets and
// their elements, then all chains, then the rules, so that every reference
// points at something created earlier in the same transaction.
func (c *Client) addTables(b *nfnl.Batch, rs *nat.Ruleset, exclusive bool) error {
	lowerRule := lowerRule
	if c != nil && c.lowerRule != nil {
		lowerRule = c.lowerRule
	}
	b.Grow(encodedSizeHint(rs))
	for _, t := range rs.Tables {
		fam := uint8(t.Family)
		b.AddTable(fam, t.Name, exclusive)
		for _, s := range t.Sets {
			if s.Unrecognised != "" {
				return fmt.Errorf("create set %s %s: the model holds an unrecognised set (%s), which cannot be installed", t.Family, s.Name, s.Unrecognised)
			}
			b.AddIntervalSet(fam, t.Name, s.Name, datatype(s.Key), uint32(s.Key.KeyLen()))
			b.AddIntervals(fam, t.Name, s.Name, len(s.Elements), func(i int) (first, last []byte) {
				return s.Elements[i].First, s.Elements[i].Last
			})
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
				ex := lowerRule(rule, t.Family)
				if ex == nil {
					return fmt.Errorf("add rule %s %s %s: %s cannot be lowered to nf_tables expressions", t.Family, t.Name, c.Name, describe(rule))
				}
				// Concatenated, not formatted: this runs for every rule on the
				// install path, and is only read if the kernel refuses the rule.
				b.AddRule(fam, t.Name, c.Name, ex, userData(rule),
					"add rule "+t.Family.String()+" "+t.Name+" "+c.Name+` "`+rule.Comment()+`"`)
			}
		}
	}
	return nil
}

func describe(r *nat.Rule) string {
	if r.Unrecognised != "" {
		return "an unrecognised rule (" + r.Unrecognised + ")"
	}
	return fmt.Sprintf("rule %q (%T/%T)", r.Name, r.Matches, r.Verdict)
}

// encodedSizeHint is about the batch's size: per interval a start and an
// end element of three attribute headers and the aligned key each, and the
// end's flags (see nfnl.IntervalElements); a few hundred bytes per set,
// chain and rule message.
func encodedSizeHint(r *nat.Ruleset) int {
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

func datatype(k nat.KeyType) uint32 {
	switch k {
	case nat.KeyIPv4:
		return nfnl.TypeIPv4Addr
	case nat.KeyIPv6:
		return nfnl.TypeIPv6Addr
	}
	return nfnl.TypeInetServic
}

// userData is the rule's comment in the TLV format nft reads.
func userData(r *nat.Rule) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, r.Comment())
}

// lowerRule lowers a rule to the expressions the kernel stores: the
// matches, a counter, then the verdict; nil if some part has no lowering.
func lowerRule(r *nat.Rule, f nat.Family) []expr.Any {
	if r.Unrecognised != "" || r.Verdict == nil {
		return nil
	}
	var ex []expr.Any
	for _, m := range r.Matches {
		me := lowerMatch(m, f)
		if me == nil {
			return nil
		}
		ex = append(ex, me...)
	}
	ex = append(ex, &expr.Counter{})
	ve := lowerVerdict(r.Verdict)
	if ve == nil {
		return nil
	}
	return append(ex, ve...)
}

const reg1 = unix.NFT_REG_1

// lowerMatch is each match kind's native expressions, with the dependencies
// nft would add (the l4proto check before a port). A kind without a case
// returns nil; TestLoweringCoversEveryKind fails for it.
func lowerMatch(m nat.Match, f nat.Family) []expr.Any {
	switch m := m.(type) {
	case nat.L4ProtoTCP:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_TCP}},
		}
	case nat.DPortInSet:
		return append(lowerMatch(nat.L4ProtoTCP{}, f),
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Lookup{SourceRegister: reg1, SetName: m.Set},
		)
	case nat.AddrInSet:
		off, n := uint32(12), uint32(4) // IPv4 saddr; daddr follows it
		if f == nat.IPv6 {
			off, n = 8, 16
		}
		if m.Dest {
			off += n
		}
		return []expr.Any{
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
			&expr.Lookup{SourceRegister: reg1, SetName: m.Set},
		}
	case nat.SocketID:
		key := expr.MetaKeySKUID
		if m.Group {
			key = expr.MetaKeySKGID
		}
		// uid_t is compared as the kernel stores it: host byte order.
		return []expr.Any{
			&expr.Meta{Key: key, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binary.NativeEndian.AppendUint32(nil, m.ID)},
		}
	case nat.OIFName:
		// A compare of the full 16-byte IFNAMSIZ buffer; a shorter compare
		// would be a prefix match ("lo*").
		name := make([]byte, unix.IFNAMSIZ)
		copy(name, m.Name)
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: name},
		}
	}
	return nil
}

// lowerVerdict is each verdict kind's expressions; nil for a kind without
// a case.
func lowerVerdict(v nat.Verdict) []expr.Any {
	switch v := v.(type) {
	case nat.Return:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictReturn}}
	case nat.Jump:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: v.Chain}}
	case nat.Redirect:
		return []expr.Any{
			&expr.Immediate{Register: reg1, Data: binary.BigEndian.AppendUint16(nil, v.Port)},
			&expr.Redir{RegisterProtoMin: reg1, RegisterProtoMax: reg1, Flags: unix.NF_NAT_RANGE_PROTO_SPECIFIED},
		}
	}
	return nil
}

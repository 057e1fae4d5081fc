//go:build linux

package kernel

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
)

// readLive reads our tables back from the kernel into the ruleset model,
// through v, so that all of it belongs to v's generation: which of our
// tables exist and their flags, then per table its sets (and their
// elements), chains and rules, one dump each; rules are dumped once for the
// whole table.
func readLive(v *nfnl.View) (*nat.Ruleset, error) {
	tables, err := v.Tables()
	if err != nil {
		return nil, err
	}
	rs := &nat.Ruleset{}
	for _, fam := range []nat.Family{nat.IPv4, nat.IPv6} {
		for _, nt := range tables {
			if nt.Family != uint8(fam) || nt.Name != nat.TableName {
				continue
			}
			t, err := readTable(v, fam)
			if err != nil {
				return nil, fmt.Errorf("read table %s %s: %w", fam, nat.TableName, err)
			}
			t.Flags = nt.Flags
			rs.Tables = append(rs.Tables, t)
		}
	}
	return rs, nil
}

// readTable reads our table of one family, which the caller's table dump
// found; the dump is not asked for again.
func readTable(v *nfnl.View, fam nat.Family) (*nat.Table, error) {
	t := &nat.Table{Family: fam, Name: nat.TableName}
	sets, err := v.Sets(uint8(fam), nat.TableName)
	if err != nil {
		return nil, err
	}
	for _, ns := range sets {
		s, err := readSet(v, fam, ns)
		if err != nil {
			return nil, err
		}
		t.Sets = append(t.Sets, s)
	}

	chains, err := v.Chains(uint8(fam), nat.TableName)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*nat.Chain, len(chains))
	for _, nc := range chains {
		c := &nat.Chain{Name: nc.Name}
		if nc.Base {
			c.Hook = &nat.Hook{Name: hookNameOf(uint8(fam), nc.Hook), Type: nc.Type, Priority: nc.Priority, Policy: "accept"}
			if nc.Policy != nfAccept {
				c.Hook.Policy = "drop"
			}
		}
		t.Chains = append(t.Chains, c)
		byName[c.Name] = c
	}

	rules, err := v.Rules(uint8(fam), nat.TableName)
	if err != nil {
		return nil, err
	}
	for _, nr := range rules {
		c := byName[nr.Chain]
		if c == nil {
			// The chain dump and the rule dump are of one generation (the
			// view checks), so this is the kernel contradicting itself.
			return nil, fmt.Errorf("rule %d of chain %s, which the chain dump did not list", nr.Handle, nr.Chain)
		}
		c.Rules = append(c.Rules, liveRule(fam, nr))
	}
	return t, nil
}

const nfAccept = 1 // NF_ACCEPT, a base chain's policy

// liveRule decodes one rule; one holding an expression google/nftables'
// codec does not decode is unrecognised, and says which.
func liveRule(fam nat.Family, nr nfnl.Rule) *nat.Rule {
	ex := make([]expr.Any, 0, len(nr.Exprs))
	decoded := true
	for _, e := range nr.Exprs {
		if e.Value == nil {
			decoded = false
			break
		}
		ex = append(ex, e.Value)
	}
	if decoded {
		return decodeRule(fam, ex, nr.UserData)
	}
	kinds := make([]string, len(nr.Exprs))
	for i, e := range nr.Exprs {
		if e.Value != nil {
			kinds[i] = exprText(e.Value)
		} else {
			kinds[i] = fmt.Sprintf("%s(not decoded: %v)", e.Name, e.Err)
		}
	}
	comment, _ := userdata.GetString(nr.UserData, userdata.TypeComment)
	return &nat.Rule{Unrecognised: withComment(strings.Join(kinds, " "), comment)}
}

func readSet(v *nfnl.View, fam nat.Family, ns nfnl.Set) (*nat.Set, error) {
	s := &nat.Set{Name: ns.Name}
	switch ns.KeyType {
	case nfnl.TypeInetServic:
		s.Key = nat.KeyPort
	case nfnl.TypeIPv4Addr:
		s.Key = nat.KeyIPv4
	case nfnl.TypeIPv6Addr:
		s.Key = nat.KeyIPv6
	default:
		s.Unrecognised = fmt.Sprintf("key type %d (an nft datatype id)", ns.KeyType)
	}
	interval := ns.Flags&unix.NFT_SET_INTERVAL != 0
	isMap := ns.Flags&unix.NFT_SET_MAP != 0
	constant := ns.Flags&unix.NFT_SET_CONSTANT != 0
	timeout := ns.Flags&unix.NFT_SET_TIMEOUT != 0 || ns.Timeout
	if !interval || isMap || constant || timeout {
		s.Unrecognised = fmt.Sprintf("flags interval=%v map=%v constant=%v timeout=%v", interval, isMap, constant, timeout)
	}
	if s.Unrecognised != "" {
		return s, nil
	}
	elems, err := v.SetElements(uint8(fam), nat.TableName, ns.Name)
	if err != nil {
		return nil, err
	}
	s.Elements, s.Unrecognised = intervalsFromElements(elems, s.Key.KeyLen())
	return s, nil
}

// intervalsFromElements inverts nfnl.IntervalElements: starts and end markers, in any
// order, back into inclusive ranges.
func intervalsFromElements(elems []nfnl.Element, keyLen int) ([]nat.Interval, string) {
	slices.SortFunc(elems, func(a, b nfnl.Element) int {
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		// an end marker sorts before a start at the same key
		switch {
		case a.End == b.End:
			return 0
		case a.End:
			return -1
		}
		return 1
	})
	ends := 0
	for _, e := range elems {
		if e.End {
			ends++
		}
	}
	// Every interval but the last ends at an end marker; the last keys of
	// all of them share one buffer, sized so that appending never moves it.
	out := make([]nat.Interval, 0, ends+1)
	lasts := make([]byte, 0, (ends+1)*keyLen)
	var open []byte
	for _, e := range elems {
		if len(e.Key) != keyLen {
			return nil, fmt.Sprintf("element of %d bytes in a set of %d-byte keys", len(e.Key), keyLen)
		}
		switch {
		case e.End && open != nil:
			lasts = appendDecrement(lasts, e.Key)
			out = append(out, nat.Interval{First: open, Last: lasts[len(lasts)-keyLen : len(lasts) : len(lasts)]})
			open = nil
		case e.End:
			// the end marker at zero that precedes the first range
		case open != nil:
			return nil, "two range starts without an end between them"
		default:
			open = e.Key
		}
	}
	if open != nil {
		for range keyLen {
			lasts = append(lasts, 0xff)
		}
		out = append(out, nat.Interval{First: open, Last: lasts[len(lasts)-keyLen : len(lasts) : len(lasts)]})
	}
	return out, ""
}

// appendDecrement appends key-1, for a non-zero key, to b.
func appendDecrement(b, key []byte) []byte {
	b = append(b, key...)
	out := b[len(b)-len(key):]
	for i := len(out) - 1; i >= 0; i-- {
		out[i]--
		if out[i] != 0xff {
			break
		}
	}
	return b
}

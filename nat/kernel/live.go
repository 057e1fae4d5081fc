//go:build linux

package kernel

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/nat"
)

// readLive reads our tables back from the kernel into the ruleset model. It
// uses google/nftables' dump requests, which decode rules into expressions.
func readLive(conn *nftables.Conn, sock *nfnl.Socket) (*nat.Ruleset, error) {
	// Which of our tables exist, and their flags, come from our own dump,
	// once: google/nftables v0.3.0 decodes the flags in host byte order.
	tables, err := sock.Tables()
	if err != nil {
		return nil, err
	}
	rs := &nat.Ruleset{}
	for _, fam := range []nat.Family{nat.IPv4, nat.IPv6} {
		for _, nt := range tables {
			if nt.Family != uint8(fam) || nt.Name != nat.TableName {
				continue
			}
			t, err := readTable(conn, sock, fam)
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
func readTable(conn *nftables.Conn, sock *nfnl.Socket, fam nat.Family) (*nat.Table, error) {
	nt := &nftables.Table{Name: nat.TableName, Family: nftables.TableFamily(fam)}
	t := &nat.Table{Family: fam, Name: nat.TableName}
	counts, err := sock.ExprCounts(uint8(fam), nat.TableName)
	if err != nil {
		return nil, err
	}

	sets, err := conn.GetSets(nt)
	if err != nil {
		return nil, fmt.Errorf("list sets: %w", err)
	}
	for _, ns := range sets {
		s, err := readSet(sock, fam, ns)
		if err != nil {
			return nil, err
		}
		t.Sets = append(t.Sets, s)
	}

	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamily(fam))
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", err)
	}
	for _, nc := range chains {
		if nc.Table.Name != nat.TableName {
			continue
		}
		c := &nat.Chain{Name: nc.Name}
		if nc.Hooknum != nil {
			c.Hook = &nat.Hook{Name: hookName(*nc.Hooknum), Type: string(nc.Type), Policy: "accept"}
			if nc.Priority != nil {
				c.Hook.Priority = int32(*nc.Priority)
			}
			if nc.Policy != nil && *nc.Policy != nftables.ChainPolicyAccept {
				c.Hook.Policy = "drop"
			}
		}
		rules, err := conn.GetRules(nt, nc)
		if err != nil {
			return nil, fmt.Errorf("list rules of chain %s: %w", nc.Name, err)
		}
		for _, nr := range rules {
			r := decodeRule(fam, nr.Exprs, nr.UserData)
			if n := counts[nr.Handle]; n != len(nr.Exprs) {
				r = &nat.Rule{Unrecognised: fmt.Sprintf("%d expressions in the kernel, %d understood: %s", n, len(nr.Exprs), unrecognised(nr.Exprs, "").Unrecognised)}
			}
			c.Rules = append(c.Rules, r)
		}
		t.Chains = append(t.Chains, c)
	}
	return t, nil
}

func hookName(h nftables.ChainHook) string {
	switch h {
	case *nftables.ChainHookPrerouting:
		return "prerouting"
	case *nftables.ChainHookOutput:
		return "output"
	}
	return fmt.Sprintf("hook%d", h)
}

func readSet(sock *nfnl.Socket, fam nat.Family, ns *nftables.Set) (*nat.Set, error) {
	s := &nat.Set{Name: ns.Name}
	switch ns.KeyType.GetNFTMagic() {
	case nftables.TypeInetService.GetNFTMagic():
		s.Key = nat.KeyPort
	case nftables.TypeIPAddr.GetNFTMagic():
		s.Key = nat.KeyIPv4
	case nftables.TypeIP6Addr.GetNFTMagic():
		s.Key = nat.KeyIPv6
	default:
		s.Unrecognised = "key type " + ns.KeyType.Name
	}
	if !ns.Interval || ns.IsMap || ns.Constant || ns.HasTimeout {
		s.Unrecognised = fmt.Sprintf("flags interval=%v map=%v constant=%v timeout=%v", ns.Interval, ns.IsMap, ns.Constant, ns.HasTimeout)
	}
	if s.Unrecognised != "" {
		return s, nil
	}
	// Our own dump, not conn.GetSetElements: see nfnl.SetElements for the
	// seconds that saves on a large set.
	elems, err := sock.SetElements(uint8(fam), nat.TableName, ns.Name)
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

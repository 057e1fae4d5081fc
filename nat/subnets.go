package nat

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// ParsePrefix parses a CIDR or a bare address (taken as a host route). A CIDR
// with host bits set ("10.1.2.3/16") is returned as written: upstream
// accepts it and iptables masks it, so the plan masks it too, and nat/pod
// warns (WarnSubnetHostBits), since it often means another prefix length.
func ParsePrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty subnet")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q has a zone, which a subnet cannot have", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a valid CIDR", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix; write the IPv4 CIDR instead", s)
	}
	return p, nil
}

// ParsePrefixList parses a comma-separated list of CIDRs (see ParseList).
func ParsePrefixList(s string) ([]netip.Prefix, error) {
	return ParseList(SplitList(s), ParsePrefix)
}

// addrRange is an inclusive range of addresses of one family.
type addrRange struct {
	first, last netip.Addr
}

// mergePrefixes keeps the prefixes of one family and merges overlapping or
// adjacent ones into ranges, as an interval set stores them.
func mergePrefixes(in []netip.Prefix, is4 bool) []addrRange {
	var rs []addrRange
	for _, p := range in {
		if p.Addr().Is4() != is4 {
			continue
		}
		p = p.Masked() // as iptables masks -s 10.1.2.3/16
		rs = append(rs, addrRange{p.Addr(), lastAddr(p)})
	}
	if len(rs) == 0 {
		return nil
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].first.Less(rs[j].first) })
	out := rs[:1]
	for _, r := range rs[1:] {
		cur := &out[len(out)-1]
		next := cur.last.Next()
		if !r.first.Less(cur.first) && (next.IsValid() && !next.Less(r.first) || !next.IsValid()) {
			if cur.last.Less(r.last) {
				cur.last = r.last
			}
			continue
		}
		out = append(out, r)
	}
	return out
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func prefixListString(ps []netip.Prefix) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

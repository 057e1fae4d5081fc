package nat_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/nat"
)

// Fuzz targets. The seed corpus is in testdata/fuzz/<FuzzName>/ and is run
// by every `go test`; `make fuzz` fuzzes each target for $(FUZZTIME).

// FuzzParsePortRange: no panic; what parses is a non-empty range of ports
// 0-65535 whose canonical text parses back to the same range.
func FuzzParsePortRange(f *testing.F) {
	for _, s := range []string{"80", "1", "65535", "8000-8080", "5-5", "0", "65536", "-1", "abc", "90-80", "1-", "-", "", " 80", "80 ", "+80", "0x50", "080", "1-2-3", "80:90", "１２"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := nat.ParsePortRange(s)
		if err != nil {
			if r != (nat.PortRange{}) {
				t.Fatalf("ParsePortRange(%q) failed (%v) but returned %v", s, err, r)
			}
			return
		}
		if r.Last < r.First {
			t.Fatalf("ParsePortRange(%q) = %v: not a range of ports", s, r)
		}
		back, err := nat.ParsePortRange(r.String())
		if err != nil || back != r {
			t.Fatalf("ParsePortRange(%q) = %v, but its text %q parses to %v, %v", s, r, r.String(), back, err)
		}
	})
}

// FuzzParsePortList: no panic; a parsed list merges into sorted, disjoint,
// non-adjacent ranges covering exactly the listed ports, and the merged
// list's text parses and merges back to itself.
func FuzzParsePortList(f *testing.F) {
	for _, s := range []string{"", " ", "80", "80,443", "80,80", "79-81,80", "1-65535", "1,3,5,2,4", "80,,90", "80,", ",80", "8080-8090,8085-8100,9000", "65535,1", "0,1", "1-2,3-4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := nat.ParsePortList(s)
		if err != nil {
			return
		}
		var listed [65536]bool
		for _, r := range rs {
			if r.Last < r.First {
				t.Fatalf("ParsePortList(%q) returned bad range %v", s, r)
			}
			for p := int(r.First); p <= int(r.Last); p++ {
				listed[p] = true
			}
		}
		merged := nat.MergePorts(rs)
		var covered [65536]bool
		for i, r := range merged {
			if r.Last < r.First {
				t.Fatalf("MergePorts(%v) returned bad range %v", rs, r)
			}
			if i > 0 && int(r.First) <= int(merged[i-1].Last)+1 {
				t.Fatalf("MergePorts(%v) = %v: %v and %v overlap or touch", rs, merged, merged[i-1], r)
			}
			for p := int(r.First); p <= int(r.Last); p++ {
				covered[p] = true
			}
		}
		if listed != covered {
			t.Fatalf("MergePorts(%v) = %v covers other ports than the list", rs, merged)
		}
		parts := make([]string, len(merged))
		for i, r := range merged {
			parts[i] = r.String()
		}
		again, err := nat.ParsePortList(strings.Join(parts, ","))
		if err != nil || fmt.Sprint(nat.MergePorts(again)) != fmt.Sprint(merged) {
			t.Fatalf("merged list %v does not round-trip: %v, %v", merged, again, err)
		}
	})
}

// FuzzParsePrefix: no panic; what parses is a valid prefix without zone or
// IPv4-mapped address (host bits are kept, for the plan to mask), whose
// text parses back to itself.
func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3", "10.1.2.3/16", "10.0.0.0/33", "0.0.0.0/0", "::/0", "fd00::/8", "fd00::1/8", "2001:db8::1", "::ffff:10.0.0.0/104", "::ffff:10.0.0.1", "fe80::1%eth0", "fe80::%eth0/64", "300.1.1.1", "", " ", "10.0.0.0/", "/8", "10.0.0.0/08", "1.2.3.4/32 ", "foo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := nat.ParsePrefix(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
			t.Fatalf("ParsePrefix(%q) = %v: not a clean prefix", s, p)
		}
		back, err := nat.ParsePrefix(p.String())
		if err != nil || back != p {
			t.Fatalf("ParsePrefix(%q) = %v, but %q parses to %v, %v", s, p, p.String(), back, err)
		}
	})
}

// FuzzConfigRender: config -> plan -> nft text. No panic; a refused
// configuration is a *ConfigError; planning is deterministic; every set is
// sorted, disjoint and non-adjacent; and the rendered text, parsed back into
// a configuration, plans and renders to the same text.
func FuzzConfigRender(f *testing.F) {
	testcfg.AddConfigSeeds(f)
	f.Fuzz(func(t *testing.T, in, out uint16, uid, gid int64, redirect, inIgnore, outIgnore, subnets, outSubnets string, ipv6 bool) {
		cfg, ok := testcfg.FuzzConfig(in, out, uid, gid, redirect, inIgnore, outIgnore, subnets, outSubnets, ipv6)
		if !ok {
			return
		}
		rs, err := nat.Plan(cfg)
		if err != nil {
			var ce *nat.ConfigError
			if !errors.As(err, &ce) || ce.Field == nat.FieldOther {
				t.Fatalf("Plan refused %+v with %v, not a ConfigError naming a field", cfg, err)
			}
			return
		}
		text := rs.Render()
		if again, _ := nat.Plan(cfg); again.Render() != text {
			t.Fatalf("planning %+v twice gives two texts", cfg)
		}
		for _, tbl := range rs.Tables {
			for _, s := range tbl.Sets {
				for i, e := range s.Elements {
					if bytes.Compare(e.First, e.Last) > 0 {
						t.Fatalf("%s set %s: element %x-%x is reversed", tbl.Family, s.Name, e.First, e.Last)
					}
					if i > 0 && !after(e.First, s.Elements[i-1].Last) {
						t.Fatalf("%s set %s: elements %d and %d overlap or touch", tbl.Family, s.Name, i-1, i)
					}
				}
			}
		}
		back, err := parseRendered(text)
		if err != nil {
			t.Fatalf("cannot parse the rendered text back: %v\n%s", err, text)
		}
		rs2, err := nat.Plan(back)
		if err != nil {
			t.Fatalf("the configuration parsed back from the text is refused: %v\n%s", err, text)
		}
		if text2 := rs2.Render(); text2 != text {
			t.Fatalf("render -> parse -> plan -> render differs (- first, + second):\n%s", linediff.Diff(text, text2))
		}
	})
}

// after reports whether key a is beyond b+1 (keys of equal length).
func after(a, b []byte) bool {
	next := append([]byte(nil), b...)
	for i := len(next) - 1; i >= 0; i-- {
		next[i]++
		if next[i] != 0 {
			return bytes.Compare(a, next) > 0
		}
	}
	return false // b is the largest key: nothing can follow it
}

// parseRendered reads the configuration back out of Render's text: the
// ports of the redirect rules, the uid and gid exceptions, the set
// elements and which families have a table. It knows only what Render
// writes, and fails on anything else.
func parseRendered(text string) (nat.Config, error) {
	cfg := nat.Config{ProxyUID: -1, ProxyGID: -1}
	var set, chain string
	// nft's layout breaks long element lists over lines; join them back.
	text = strings.ReplaceAll(text, ",\n\t\t\t     ", ", ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		fields := strings.Fields(line)
		switch {
		case line == "" || line == "}" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "table ") || strings.HasPrefix(line, "delete table "):
			if len(fields) >= 2 && fields[len(fields)-2] == "ip6" || len(fields) >= 3 && fields[1] == "ip6" {
				cfg.IPv6 = true
			}
		case strings.HasPrefix(line, "set "):
			set = fields[1]
		case strings.HasPrefix(line, "type ") && !strings.Contains(line, "hook"), line == "flags interval":
		case strings.HasPrefix(line, "elements = { "):
			items := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "elements = { "), " }"), ", ")
			if err := addElements(&cfg, set, items); err != nil {
				return cfg, err
			}
		case strings.HasPrefix(line, "chain "):
			chain = fields[1]
		case strings.HasPrefix(line, "type nat hook "):
		default: // a rule
			if i := strings.Index(line, "redirect to :"); i >= 0 {
				port, err := strconv.ParseUint(strings.Fields(line[i+len("redirect to :"):])[0], 10, 16)
				if err != nil {
					return cfg, fmt.Errorf("redirect port in %q: %v", line, err)
				}
				if chain == nat.ChainRedirect {
					cfg.InboundProxyPort = uint16(port)
				} else {
					cfg.OutboundProxyPort = uint16(port)
				}
			}
			for _, id := range []struct {
				key string
				dst *int64
			}{{"meta skuid ", &cfg.ProxyUID}, {"meta skgid ", &cfg.ProxyGID}} {
				if rest, ok := strings.CutPrefix(line, id.key); ok {
					v, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
					if err != nil {
						return cfg, fmt.Errorf("%q: %v", line, err)
					}
					*id.dst = v
				}
			}
		}
	}
	return cfg, nil
}

func addElements(cfg *nat.Config, set string, items []string) error {
	ports := map[string]*[]nat.PortRange{
		nat.SetRedirectPorts:       &cfg.PortsToRedirect,
		nat.SetInboundPortsIgnore:  &cfg.InboundPortsToIgnore,
		nat.SetOutboundPortsIgnore: &cfg.OutboundPortsToIgnore,
	}
	subnets := map[string]*[]netip.Prefix{
		nat.SetInboundSubnetsIgnore:  &cfg.InboundSubnetsToIgnore,
		nat.SetOutboundSubnetsIgnore: &cfg.OutboundSubnetsToIgnore,
	}
	for _, it := range items {
		if dst, ok := ports[set]; ok {
			r, err := nat.ParsePortRange(it)
			if err != nil {
				return fmt.Errorf("set %s element %q: %v", set, it, err)
			}
			*dst = append(*dst, r)
			continue
		}
		dst, ok := subnets[set]
		if !ok {
			return fmt.Errorf("unknown set %q", set)
		}
		if first, last, isRange := strings.Cut(it, "-"); isRange {
			a, err1 := netip.ParseAddr(first)
			b, err2 := netip.ParseAddr(last)
			if err1 != nil || err2 != nil || b.Less(a) {
				return fmt.Errorf("set %s element %q: not an address range", set, it)
			}
			*dst = append(*dst, rangePrefixes(a, b)...)
			continue
		}
		p, err := nat.ParsePrefix(it)
		if err != nil {
			return fmt.Errorf("set %s element %q: %v", set, it, err)
		}
		*dst = append(*dst, p)
	}
	return nil
}

// rangePrefixes covers first..last with the fewest prefixes.
func rangePrefixes(first, last netip.Addr) []netip.Prefix {
	var out []netip.Prefix
	for {
		bits := first.BitLen()
		// Grow the block while it starts at first and stays within last.
		for bits > 0 {
			p := netip.PrefixFrom(first, bits-1)
			if p.Masked().Addr() != first || last.Less(prefixLast(p)) {
				break
			}
			bits--
		}
		p := netip.PrefixFrom(first, bits)
		out = append(out, p)
		end := prefixLast(p)
		if end == last {
			return out
		}
		first = end.Next()
	}
}

func prefixLast(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

package nat

import (
	"encoding/binary"
	"net/netip"
)

// Chain and set names. The chain names are upstream's, so that people who
// know proxy-init's iptables rules recognise ours in "nft list ruleset".
const (
	ChainRedirect   = "PROXY_INIT_REDIRECT"
	ChainOutput     = "PROXY_INIT_OUTPUT"
	ChainPrerouting = "PREROUTING"
	ChainOutputBase = "OUTPUT"

	SetInboundPortsIgnore    = "inbound_ports_ignore"
	SetInboundSubnetsIgnore  = "inbound_subnets_ignore"
	SetRedirectPorts         = "redirect_ports"
	SetOutboundPortsIgnore   = "outbound_ports_ignore"
	SetOutboundSubnetsIgnore = "outbound_subnets_ignore"
)

// natPriority is NF_IP_PRI_NAT_DST ("dstnat"), where iptables' nat
// PREROUTING and OUTPUT chains sit too.
const natPriority = -100

// Plan turns a configuration into the ruleset to install. It does no I/O:
// the same plan feeds the netlink batch, --simulate, verify and the tests.
func Plan(c Config) (*Ruleset, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	// Port sets are the same in both families; computed once, shared.
	p := portSets{
		inIgnore:  portIntervals(c.InboundPortsToIgnore),
		outIgnore: portIntervals(c.OutboundPortsToIgnore),
		redirect:  portIntervals(c.PortsToRedirect),
	}
	rs := &Ruleset{Tables: []*Table{planTable(c, p, IPv4)}}
	if c.IPv6 {
		rs.Tables = append(rs.Tables, planTable(c, p, IPv6))
	}
	return rs, nil
}

type portSets struct {
	inIgnore, outIgnore, redirect []Interval
}

func planTable(c Config, p portSets, f Family) *Table {
	t := &Table{Family: f, Name: TableName}
	addrKey := KeyIPv4
	if f == IPv6 {
		addrKey = KeyIPv6
	}
	// addSet adds a set when it has elements and says whether it did, so a
	// rule that would look up an empty set is not planned at all.
	addSet := func(name string, key KeyType, elems []Interval) bool {
		if len(elems) == 0 {
			return false
		}
		t.Sets = append(t.Sets, &Set{Name: name, Key: key, Elements: elems})
		return true
	}

	redirect := &Chain{Name: ChainRedirect}
	if addSet(SetInboundPortsIgnore, KeyPort, p.inIgnore) {
		redirect.add("ignore-port", Return{}, DPortInSet{SetInboundPortsIgnore})
	}
	if addSet(SetInboundSubnetsIgnore, addrKey, addrIntervals(c.InboundSubnetsToIgnore, f)) {
		redirect.add("ignore-subnet", Return{}, AddrInSet{Set: SetInboundSubnetsIgnore})
	}
	if addSet(SetRedirectPorts, KeyPort, p.redirect) {
		redirect.add("redirect-port-to-proxy-port", Redirect{c.InboundProxyPort}, DPortInSet{SetRedirectPorts})
	} else {
		redirect.add("redirect-all-incoming-to-proxy-port", Redirect{c.InboundProxyPort}, L4ProtoTCP{})
	}
	prerouting := &Chain{Name: ChainPrerouting, Hook: &Hook{Name: "prerouting", Priority: natPriority, Type: "nat", Policy: "accept"}}
	prerouting.add("install-proxy-init-prerouting", Jump{ChainRedirect})

	output := &Chain{Name: ChainOutput}
	if c.ProxyUID > 0 {
		output.add("ignore-proxy-user-id", Return{}, SocketID{ID: uint32(c.ProxyUID)})
	}
	if c.ProxyGID > 0 {
		output.add("ignore-proxy-group-id", Return{}, SocketID{Group: true, ID: uint32(c.ProxyGID)})
	}
	output.add("ignore-loopback", Return{}, OIFName{"lo"})
	if addSet(SetOutboundPortsIgnore, KeyPort, p.outIgnore) {
		output.add("ignore-port", Return{}, DPortInSet{SetOutboundPortsIgnore})
	}
	if addSet(SetOutboundSubnetsIgnore, addrKey, addrIntervals(c.OutboundSubnetsToIgnore, f)) {
		output.add("ignore-subnet", Return{}, AddrInSet{Dest: true, Set: SetOutboundSubnetsIgnore})
	}
	output.add("redirect-all-outgoing-to-proxy-port", Redirect{c.OutboundProxyPort}, L4ProtoTCP{})
	outputBase := &Chain{Name: ChainOutputBase, Hook: &Hook{Name: "output", Priority: natPriority, Type: "nat", Policy: "accept"}}
	outputBase.add("install-proxy-init-output", Jump{ChainOutput})

	t.Chains = []*Chain{redirect, prerouting, output, outputBase}
	return t
}

func (c *Chain) add(name string, v Verdict, m ...Match) {
	c.Rules = append(c.Rules, &Rule{Name: name, Matches: m, Verdict: v})
}

// portIntervals and addrIntervals carve every key out of one buffer: a
// list of 65536 ports is 65536 intervals, and one allocation per key was
// most of planning it.
func portIntervals(rs []PortRange) []Interval {
	merged := MergePorts(rs)
	out := make([]Interval, len(merged))
	keys := make([]byte, 0, 4*len(merged))
	for i, r := range merged {
		keys = binary.BigEndian.AppendUint16(keys, r.First)
		keys = binary.BigEndian.AppendUint16(keys, r.Last)
		out[i] = Interval{First: keys[4*i : 4*i+2 : 4*i+2], Last: keys[4*i+2 : 4*i+4 : 4*i+4]}
	}
	return out
}

func addrIntervals(ps []netip.Prefix, f Family) []Interval {
	merged := mergePrefixes(ps, f == IPv4)
	n := KeyIPv6.KeyLen()
	if f == IPv4 {
		n = KeyIPv4.KeyLen()
	}
	out := make([]Interval, len(merged))
	keys := make([]byte, 0, 2*n*len(merged))
	for i, r := range merged {
		keys = appendAddr(keys, r.first)
		keys = appendAddr(keys, r.last)
		o := 2 * n * i
		out[i] = Interval{First: keys[o : o+n : o+n], Last: keys[o+n : o+2*n : o+2*n]}
	}
	return out
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}

package reference

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
)

// Family selects the iptables-nft binaries of one address family.
type Family int

// The two families; the value is the IP version.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

// Binary is the rule-changing command of the family.
func (f Family) Binary() string {
	if f == IPv6 {
		return "ip6tables-nft"
	}
	return "iptables-nft"
}

// SaveBinary is the dump command of the family.
func (f Family) SaveBinary() string { return f.Binary() + "-save" }

func (f Family) String() string { return "IPv" + strconv.Itoa(int(f)) }

func (f Family) has(p netip.Prefix) bool { return p.Addr().Is6() == (f == IPv6) }

// Chain names and the multiport limit, as upstream.
const (
	RedirectChain = "PROXY_INIT_REDIRECT"
	OutputChain   = "PROXY_INIT_OUTPUT"
	// multiportLimit is xt_multiport's XT_MULTI_PORTS: a range uses two
	// of the slots.
	multiportLimit = 15
)

// What upstream looks for in iptables-save output before deciding between
// -N and -F for a chain, and whether to add the jump into it. The jump
// pattern tolerates the comment match iptables-save prints before -j.
var (
	redirectChainRE  = regexp.MustCompile(`(?m)^:` + RedirectChain + ` `)
	outputChainRE    = regexp.MustCompile(`(?m)^:` + OutputChain + ` `)
	preroutingJumpRE = regexp.MustCompile(`(?m)^-A PREROUTING (.+ )?-j ` + RedirectChain + `(\s|$)`)
	outputJumpRE     = regexp.MustCompile(`(?m)^-A OUTPUT (.+ )?-j ` + OutputChain + `(\s|$)`)
)

// Commands returns, in order, the full argument lists (binary first) that
// upstream proxy-init runs for one family, given that family's current
// `iptables-save -t nat` output. cfg must be valid and expressible (see
// Install); subnets of the other family are left out, so mixed lists work.
func Commands(cfg nat.Config, f Family, saved string) [][]string {
	var cmds [][]string
	add := func(args ...string) {
		cmds = append(cmds, append([]string{f.Binary(), "-w", "-t", "nat"}, args...))
	}
	rule := func(chain, comment string, match ...string) {
		args := append([]string{"-A", chain}, match...)
		add(append(args, "-m", "comment", "--comment", "proxy-init/"+comment)...)
	}
	chain := func(name string, exists *regexp.Regexp) {
		if exists.MatchString(saved) {
			add("-F", name) // re-run: refill the chain in place
		} else {
			add("-N", name)
		}
	}
	in, out := strconv.Itoa(int(cfg.InboundProxyPort)), strconv.Itoa(int(cfg.OutboundProxyPort))

	// Inbound.
	chain(RedirectChain, redirectChainRE)
	for _, ports := range multiportChunks(cfg.InboundPortsToIgnore) {
		rule(RedirectChain, "ignore-port-"+ports, "-p", "tcp", "-m", "multiport", "--dports", ports, "-j", "RETURN")
	}
	for _, p := range cfg.InboundSubnetsToIgnore {
		if f.has(p) {
			rule(RedirectChain, "ignore-subnet-"+p.String(), "-s", p.String(), "-j", "RETURN")
		}
	}
	if len(cfg.PortsToRedirect) == 0 {
		rule(RedirectChain, "redirect-all-incoming-to-proxy-port", "-p", "tcp", "-j", "REDIRECT", "--to-port", in)
	}
	for _, r := range cfg.PortsToRedirect {
		p := iptablesPort(r)
		rule(RedirectChain, fmt.Sprintf("redirect-port-%s-to-proxy-port", p),
			"-p", "tcp", "--dport", p, "-j", "REDIRECT", "--to-port", in)
	}
	if !preroutingJumpRE.MatchString(saved) {
		rule("PREROUTING", "install-proxy-init-prerouting", "-j", RedirectChain)
	}

	// Outbound.
	chain(OutputChain, outputChainRE)
	if cfg.ProxyUID > 0 {
		rule(OutputChain, "ignore-proxy-user-id", "-m", "owner", "--uid-owner", strconv.FormatInt(cfg.ProxyUID, 10), "-j", "RETURN")
	}
	if cfg.ProxyGID > 0 {
		rule(OutputChain, "ignore-proxy-group-id", "-m", "owner", "--gid-owner", strconv.FormatInt(cfg.ProxyGID, 10), "-j", "RETURN")
	}
	rule(OutputChain, "ignore-loopback", "-o", "lo", "-j", "RETURN")
	for _, ports := range multiportChunks(cfg.OutboundPortsToIgnore) {
		rule(OutputChain, "ignore-port-"+ports, "-p", "tcp", "-m", "multiport", "--dports", ports, "-j", "RETURN")
	}
	rule(OutputChain, "redirect-all-outgoing-to-proxy-port", "-p", "tcp", "-j", "REDIRECT", "--to-port", out)
	if !outputJumpRE.MatchString(saved) {
		rule("OUTPUT", "install-proxy-init-output", "-j", OutputChain)
	}
	return cmds
}

// multiportChunks splits a port list the way upstream does: in the order
// given (no merging or sorting), a new rule whenever the next entry would
// take the current one past 15 port slots. Each chunk is the --dports value.
func multiportChunks(rs []nat.PortRange) []string {
	var chunks []string
	var cur []string
	used := 0
	for _, r := range rs {
		n := 1
		if r.First != r.Last {
			n = 2
		}
		if used+n > multiportLimit {
			chunks = append(chunks, strings.Join(cur, ","))
			cur, used = nil, 0
		}
		cur = append(cur, iptablesPort(r))
		used += n
	}
	if len(cur) > 0 {
		chunks = append(chunks, strings.Join(cur, ","))
	}
	return chunks
}

// iptablesPort writes a range as iptables wants it, "a:b" (nat.PortRange
// prints "a-b", the flag syntax).
func iptablesPort(r nat.PortRange) string {
	if r.First == r.Last {
		return strconv.Itoa(int(r.First))
	}
	return fmt.Sprintf("%d:%d", r.First, r.Last)
}

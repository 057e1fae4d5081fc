package nat

import (
	"fmt"
	"net/netip"
)

// TableName is the name of the nf_tables table we own in each family
// ("table ip proxy_init" and "table ip6 proxy_init"). It is part of our
// interface: remove, verify and show find our rules by it.
const TableName = "proxy_init"

// Config is what the user asks for. Field comments name the proxy-init flag
// that sets each field; errors from Validate name the same flags.
type Config struct {
	// InboundProxyPort receives redirected inbound TCP (-p, --incoming-proxy-port).
	InboundProxyPort uint16
	// OutboundProxyPort receives redirected outbound TCP (-o, --outgoing-proxy-port).
	OutboundProxyPort uint16
	// ProxyUID is the proxy's uid; its own outbound traffic is not redirected.
	// A value <= 0 adds no uid exception, as upstream (-u, --proxy-uid).
	ProxyUID int64
	// ProxyGID is the proxy's gid, treated like ProxyUID (-g, --proxy-gid).
	ProxyGID int64
	// PortsToRedirect limits inbound redirection to these ports; empty means
	// all inbound TCP (-r, --ports-to-redirect).
	PortsToRedirect []PortRange
	// InboundPortsToIgnore are destination ports inbound traffic keeps
	// (--inbound-ports-to-ignore).
	InboundPortsToIgnore []PortRange
	// OutboundPortsToIgnore are destination ports outbound traffic keeps
	// (--outbound-ports-to-ignore).
	OutboundPortsToIgnore []PortRange
	// InboundSubnetsToIgnore are source subnets whose inbound traffic is not
	// redirected (--subnets-to-ignore). Mixed families are fine: each family's
	// table gets the entries of its own family.
	InboundSubnetsToIgnore []netip.Prefix
	// OutboundSubnetsToIgnore are destination subnets whose outbound traffic
	// is not redirected (--outbound-subnets-to-ignore).
	OutboundSubnetsToIgnore []netip.Prefix
	// IPv6 programs the ip6 table as well as the ip table (--ipv6).
	IPv6 bool
}

// DefaultConfig returns the seed's defaults: inbound 4143, outbound 4140,
// proxy uid 2102, no gid, redirect all, IPv4 and IPv6.
func DefaultConfig() Config {
	return Config{
		InboundProxyPort:  4143,
		OutboundProxyPort: 4140,
		ProxyUID:          2102,
		ProxyGID:          -1,
		IPv6:              true,
	}
}

// ConfigError says which flag holds a value we refuse, and why.
type ConfigError struct {
	Flag   string
	Value  string
	Reason string
	// Err is the cause, when there is one (errors.Is reaches it).
	Err error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid value %q for %s: %s", e.Value, e.Flag, e.Reason)
}

func (e *ConfigError) Unwrap() error { return e.Err }

const maxID = 1<<32 - 2 // (uid_t)-1 means "no id" to the kernel

// Validate refuses configurations that cannot be installed or that would
// break the pod; it never changes the kernel.
func (c Config) Validate() error {
	if c.InboundProxyPort == 0 {
		return &ConfigError{Flag: "--incoming-proxy-port", Value: "0", Reason: "must be a port between 1 and 65535"}
	}
	if c.OutboundProxyPort == 0 {
		return &ConfigError{Flag: "--outgoing-proxy-port", Value: "0", Reason: "must be a port between 1 and 65535"}
	}
	// InboundProxyPort == OutboundProxyPort is accepted, as upstream accepts
	// it (its own integration tests run -p 8080 -o 8080): a proxy on one
	// port tells the directions apart by the original destination, and its
	// own uid is never redirected. pod.Run warns about it.
	if c.ProxyUID > maxID {
		return &ConfigError{Flag: "--proxy-uid", Value: fmt.Sprint(c.ProxyUID), Reason: fmt.Sprintf("must be at most %d", maxID)}
	}
	if c.ProxyGID > maxID {
		return &ConfigError{Flag: "--proxy-gid", Value: fmt.Sprint(c.ProxyGID), Reason: fmt.Sprintf("must be at most %d", maxID)}
	}
	for _, l := range []struct {
		flag string
		rs   []PortRange
	}{
		{"--ports-to-redirect", c.PortsToRedirect},
		{"--inbound-ports-to-ignore", c.InboundPortsToIgnore},
		{"--outbound-ports-to-ignore", c.OutboundPortsToIgnore},
	} {
		for _, r := range l.rs {
			if r.Last < r.First {
				return &ConfigError{Flag: l.flag, Value: r.String(), Reason: "not a port or range of ports between 0 and 65535"}
			}
		}
	}
	for _, l := range []struct {
		flag string
		ps   []netip.Prefix
	}{
		{"--subnets-to-ignore", c.InboundSubnetsToIgnore},
		{"--outbound-subnets-to-ignore", c.OutboundSubnetsToIgnore},
	} {
		for _, p := range l.ps {
			// Host bits are masked by the plan (see ParsePrefix).
			if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				return &ConfigError{Flag: l.flag, Value: p.String(), Reason: "not a valid CIDR"}
			}
			if p.Addr().Is6() && !c.IPv6 {
				return &ConfigError{Flag: l.flag, Value: p.String(), Reason: "is an IPv6 subnet but --ipv6=false"}
			}
		}
	}
	return nil
}

// WithoutIPv6 is the configuration for a kernel without IPv6: IPv4 rules
// only, and the IPv6 entries of the subnet lists left out, since there is no
// IPv6 traffic for them to exempt.
func (c Config) WithoutIPv6() Config {
	c.IPv6 = false
	c.InboundSubnetsToIgnore = ipv4Only(c.InboundSubnetsToIgnore)
	c.OutboundSubnetsToIgnore = ipv4Only(c.OutboundSubnetsToIgnore)
	return c
}

func ipv4Only(ps []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is4() {
			out = append(out, p)
		}
	}
	return out
}

// Summary is the effective configuration in one line, with merged lists, for
// the log line that says what is about to be installed.
func (c Config) Summary() []any {
	return []any{
		"incoming_proxy_port", c.InboundProxyPort,
		"outgoing_proxy_port", c.OutboundProxyPort,
		"proxy_uid", c.ProxyUID,
		"proxy_gid", c.ProxyGID,
		"ports_to_redirect", portListString(MergePorts(c.PortsToRedirect)),
		"inbound_ports_to_ignore", portListString(MergePorts(c.InboundPortsToIgnore)),
		"outbound_ports_to_ignore", portListString(MergePorts(c.OutboundPortsToIgnore)),
		"subnets_to_ignore", prefixListString(c.InboundSubnetsToIgnore),
		"outbound_subnets_to_ignore", prefixListString(c.OutboundSubnetsToIgnore),
		"ipv6", c.IPv6,
	}
}

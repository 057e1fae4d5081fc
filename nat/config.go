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
// that sets each field; errors from Validate name the field (Field), which
// each front end names in its own words.
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

// Field is the setting a refused value was given for, in no front end's
// words: each front end names it in its own (proxy-init a flag such as
// --incoming-proxy-port, the CNI plugin a key such as
// linkerd.incoming-proxy-port).
type Field int

const (
	FieldOther                   Field = iota // a front end's own setting: ConfigError.Name says which
	FieldInboundProxyPort                     // Config.InboundProxyPort
	FieldOutboundProxyPort                    // Config.OutboundProxyPort
	FieldProxyUID                             // Config.ProxyUID
	FieldProxyGID                             // Config.ProxyGID
	FieldPortsToRedirect                      // Config.PortsToRedirect
	FieldInboundPortsToIgnore                 // Config.InboundPortsToIgnore
	FieldOutboundPortsToIgnore                // Config.OutboundPortsToIgnore
	FieldInboundSubnetsToIgnore               // Config.InboundSubnetsToIgnore
	FieldOutboundSubnetsToIgnore              // Config.OutboundSubnetsToIgnore
	FieldRuleset                              // a Ruleset given to an engine (Ruleset.Validate)
	FieldNetNS                                // nat/pod: the namespace to program (pod.AtPath)
	FieldCloseWaitSecs                        // nat/pod: the close-wait timeout (ApplyOptions.CloseWaitSecs)

	// fieldCount sizes fieldNames, so that a field added above without a
	// name is an empty entry TestEveryFieldIsNamed finds, and a front end's
	// test that walks the fields while they are named reaches it.
	fieldCount
)

var fieldNames = [fieldCount]string{"setting", "InboundProxyPort", "OutboundProxyPort", "ProxyUID", "ProxyGID",
	"PortsToRedirect", "InboundPortsToIgnore", "OutboundPortsToIgnore", "InboundSubnetsToIgnore",
	"OutboundSubnetsToIgnore", "ruleset", "NetNS", "CloseWaitSecs"}

// String is the Go name of the field, for a program that has no words of
// its own for it.
func (f Field) String() string {
	if f >= 0 && f < fieldCount && fieldNames[f] != "" {
		return fieldNames[f]
	}
	return fmt.Sprintf("field(%d)", int(f))
}

// ConfigError says which setting holds a value we refuse, and why. nat and
// nat/pod set Field; a front end sets Name to the flag or key its user
// wrote (errors.As, then name it), and builds its own errors with Name
// alone.
type ConfigError struct {
	Field Field
	// Name is the setting as the user wrote it; "" prints Field.
	Name   string
	Value  string
	Reason string
	// Err is the cause, when there is one (errors.Is reaches it).
	Err error
}

func (e *ConfigError) Error() string {
	name := e.Name
	if name == "" {
		name = e.Field.String()
	}
	return fmt.Sprintf("invalid value %q for %s: %s", e.Value, name, e.Reason)
}

func (e *ConfigError) Unwrap() error { return e.Err }

const maxID = 1<<32 - 2 // (uid_t)-1 means "no id" to the kernel

// Validate refuses configurations that cannot be installed or that would
// break the pod; it never changes the kernel.
func (c Config) Validate() error {
	if c.InboundProxyPort == 0 {
		return &ConfigError{Field: FieldInboundProxyPort, Value: "0", Reason: "must be a port between 1 and 65535"}
	}
	if c.OutboundProxyPort == 0 {
		return &ConfigError{Field: FieldOutboundProxyPort, Value: "0", Reason: "must be a port between 1 and 65535"}
	}
	// InboundProxyPort == OutboundProxyPort is accepted, as upstream accepts
	// it (its own integration tests run -p 8080 -o 8080): a proxy on one
	// port tells the directions apart by the original destination, and its
	// own uid is never redirected. nat/pod warns about it.
	if c.ProxyUID > maxID {
		return &ConfigError{Field: FieldProxyUID, Value: fmt.Sprint(c.ProxyUID), Reason: fmt.Sprintf("must be at most %d", maxID)}
	}
	if c.ProxyGID > maxID {
		return &ConfigError{Field: FieldProxyGID, Value: fmt.Sprint(c.ProxyGID), Reason: fmt.Sprintf("must be at most %d", maxID)}
	}
	for _, l := range []struct {
		field Field
		rs    []PortRange
	}{
		{FieldPortsToRedirect, c.PortsToRedirect},
		{FieldInboundPortsToIgnore, c.InboundPortsToIgnore},
		{FieldOutboundPortsToIgnore, c.OutboundPortsToIgnore},
	} {
		for _, r := range l.rs {
			if r.Last < r.First {
				return &ConfigError{Field: l.field, Value: r.String(), Reason: "not a port or range of ports between 0 and 65535"}
			}
		}
	}
	for _, l := range []struct {
		field Field
		ps    []netip.Prefix
	}{
		{FieldInboundSubnetsToIgnore, c.InboundSubnetsToIgnore},
		{FieldOutboundSubnetsToIgnore, c.OutboundSubnetsToIgnore},
	} {
		for _, p := range l.ps {
			// Host bits are masked by the plan (see ParsePrefix).
			if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				return &ConfigError{Field: l.field, Value: p.String(), Reason: "not a valid CIDR"}
			}
			if p.Addr().Is6() && !c.IPv6 {
				return &ConfigError{Field: l.field, Value: p.String(), Reason: "is an IPv6 subnet but ipv6 is false"}
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

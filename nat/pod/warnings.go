package pod

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
)

// Warning is a condition an operation noticed and carried on past.
type Warning struct {
	// Code is stable, for programs: see the Warn* constants.
	Code string
	// Message is for people.
	Message string
}

// Warning codes of what the kernel or the namespace holds.
const (
	// WarnIPv6Disabled: the kernel has no IPv6; only the IPv4 rules were
	// used, and IPv6 entries of the subnet lists were left out.
	WarnIPv6Disabled = "ipv6-disabled"
	// WarnLegacyNAT: the namespace has a legacy (x_tables) iptables nat
	// table; its rules run on the same hooks as ours and can shadow them.
	WarnLegacyNAT = "legacy-nat"
)

// Warning codes of configurations that upstream accepts and so do we, but
// that often mean something else than what was written.
const (
	// WarnSameProxyPort: the inbound and outbound proxy ports are one port.
	// It works (upstream's own integration tests run -p 8080 -o 8080): the
	// proxy tells the directions apart by the original destination.
	WarnSameProxyPort = "same-proxy-port"
	// WarnSubnetHostBits: a subnet has host bits set ("10.1.2.3/16"); it is
	// masked, as iptables masks it, and the warning names the masked subnet.
	WarnSubnetHostBits = "subnet-host-bits"
)

// configWarnings are the warnings a valid configuration itself earns,
// whatever the kernel: pure, so a plan-only front end can show them too.
func configWarnings(c nat.Config) []Warning {
	var ws []Warning
	if c.InboundProxyPort == c.OutboundProxyPort {
		ws = append(ws, Warning{Code: WarnSameProxyPort, Message: fmt.Sprintf(
			"the inbound and outbound proxy ports are both %d: one proxy port takes both directions", c.InboundProxyPort)})
	}
	var masked []string
	for _, l := range [][]netip.Prefix{c.InboundSubnetsToIgnore, c.OutboundSubnetsToIgnore} {
		for _, p := range l {
			if p.Masked() != p {
				masked = append(masked, p.String()+" as "+p.Masked().String())
			}
		}
	}
	if len(masked) > 0 {
		ws = append(ws, Warning{Code: WarnSubnetHostBits, Message: "subnets with host bits set are masked: " + strings.Join(masked, ", ")})
	}
	return ws
}

func (r *Result) warnAll(log *slog.Logger, ws []Warning) {
	for _, w := range ws {
		r.warn(log, w.Code, w.Message)
	}
}

func (r *Result) warn(log *slog.Logger, code, msg string) {
	r.Warnings = append(r.Warnings, Warning{Code: code, Message: msg})
	log.Warn(msg, "warning", code)
}

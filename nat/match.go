package nat

import "fmt"

// A Match is one condition of a rule. The set of kinds is closed (the
// interface has an unexported method): every consumer, the kernel lowering
// and decoding in nat/kernel, the renderer here and evaluators over the
// model, handles each kind in a type switch, and tests in those packages fail
// when a kind lacks a case.
type Match interface {
	text(f Family) string
}

// L4ProtoTCP matches TCP ("meta l4proto tcp").
type L4ProtoTCP struct{}

func (L4ProtoTCP) text(Family) string { return "meta l4proto tcp" }

// DPortInSet matches TCP whose destination port is in the named set
// ("tcp dport @set"). In the kernel it carries its own l4proto dependency,
// as nft adds it.
type DPortInSet struct{ Set string }

func (m DPortInSet) text(Family) string { return "tcp dport @" + m.Set }

// AddrInSet matches the source or destination address against the named set
// ("ip saddr @set", "ip6 daddr @set"). Our tables are per family, so no
// nfproto dependency is needed.
type AddrInSet struct {
	Dest bool
	Set  string
}

func (m AddrInSet) text(f Family) string {
	dir := "saddr"
	if m.Dest {
		dir = "daddr"
	}
	return fmt.Sprintf("%s %s @%s", f, dir, m.Set)
}

// SocketID matches the uid or gid owning the local socket ("meta skuid 2102").
type SocketID struct {
	Group bool
	ID    uint32
}

func (m SocketID) text(Family) string {
	if m.Group {
		return fmt.Sprintf("meta skgid %d", m.ID)
	}
	return fmt.Sprintf("meta skuid %d", m.ID)
}

// OIFName matches the output interface name exactly ("oifname "lo""), not
// as a prefix.
type OIFName struct{ Name string }

func (m OIFName) text(Family) string { return fmt.Sprintf("oifname %q", m.Name) }

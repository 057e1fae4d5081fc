package harness

import (
	"net/netip"
	"strconv"

	"github.com/proxy-init/netlink-native/internal/topology"
)

// Landing is where a flow is expected to end up.
type Landing int

const (
	_ Landing = iota
	// Proxy: the stand-in proxy of the flow's direction answered (proxy-in
	// for inbound flows, proxy-out for everything the pod sends), reporting
	// the dialled address as the original destination.
	Proxy
	// Direct: the listener at the dialled address answered; no redirection.
	Direct
	// Refused: nothing listens where the connection went (and it was not
	// redirected to a proxy, which would have answered).
	Refused
	// Timeout: the connection was dropped.
	Timeout
)

func (l Landing) String() string {
	switch l {
	case Proxy:
		return "proxy"
	case Direct:
		return "direct"
	case Refused:
		return "refused"
	case Timeout:
		return "timeout"
	}
	return "unset"
}

// Kind is the direction of a flow, which fixes where it is dialled from and to.
type Kind int

const (
	// Inbound: from the peer to the pod's address (PREROUTING).
	Inbound Kind = iota
	// Outbound: from the pod to the peer's address (OUTPUT, leaves via eth0).
	Outbound
	// Loopback: from the pod to 127.0.0.1 or ::1 (OUTPUT, leaves via lo).
	Loopback
	// OwnAddr: from the pod to its own eth0 address, which the kernel
	// routes through lo as well.
	OwnAddr
)

func (k Kind) String() string {
	return [...]string{"peer->pod", "pod->peer", "pod->lo", "pod->self"}[k]
}

// Ids used by flows. The application runs as appUID/appGID unless a flow
// says otherwise; the proxy ids are what the configurations exempt.
const (
	AppUID   = 1000
	AppGID   = 1000
	ProxyUID = 2102
	ProxyGID = 2103
)

// Listener names the topology answers with.
const (
	proxyIn  = "proxy-in"
	proxyOut = "proxy-out"
	// proxyShared answers both directions when they share a port.
	proxyShared = "proxy"
	appName     = "app"
	peerName    = "peer"
)

// Flow is one connection and where it should land.
type Flow struct {
	Kind Kind
	IPv6 bool
	Port uint16
	// UID and GID the pod-side client runs as (Outbound, Loopback, OwnAddr).
	// Inbound clients run as root in the peer: ids there match nothing.
	UID, GID uint32
	Want     Landing
	// RefWant, when set, is where the reference lands instead of Want: a
	// known, explained difference (RefWhy) that is checked like any other
	// expectation, so it cannot silently come or go.
	RefWant Landing
	RefWhy  string
	// Note says why the flow is there ("range first", "no listener").
	Note string
	// Alt sends an Outbound flow to the peer's address on the second link
	// that AddAltLink makes, instead of through eth0.
	Alt bool
}

// Dst is the address the flow dials in tp.
func (f Flow) Dst(tp *topology.Topology) netip.AddrPort {
	var a netip.Addr
	switch f.Kind {
	case Inbound, OwnAddr:
		a = pick(f.IPv6, tp.PodAddr4, tp.PodAddr6)
	case Outbound:
		a = pick(f.IPv6, tp.PeerAddr4, tp.PeerAddr6)
		if f.Alt {
			a = pick(f.IPv6, AltPeerAddr4, AltPeerAddr6)
		}
	case Loopback:
		a = pick(f.IPv6, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
	}
	return netip.AddrPortFrom(a, f.Port)
}

func pick(v6 bool, a4, a6 netip.Addr) netip.Addr {
	if v6 {
		return a6
	}
	return a4
}

// from is the namespace the flow is dialled from.
func (f Flow) from() topology.NS {
	if f.Kind == Inbound {
		return topology.Peer
	}
	return topology.Pod
}

// Label names the flow in the matrix: direction, address, non-default ids
// and the note. The address is the same in every topology.
func (f Flow) Label(tp *topology.Topology) string {
	s := f.Kind.String() + " " + f.Dst(tp).String()
	if f.Kind != Inbound {
		if f.UID != AppUID {
			s += " uid=" + strconv.Itoa(int(f.UID))
		}
		if f.GID != AppGID {
			s += " gid=" + strconv.Itoa(int(f.GID))
		}
	}
	if f.Note != "" {
		s += " (" + f.Note + ")"
	}
	return s
}

// Outcome is what the client should see when the flow lands at l: a
// redirected or direct connection is answered with the dialled address as
// the original destination, since REDIRECT keeps it for SO_ORIGINAL_DST and
// a direct connection's local address is the dialled one.
func (f Flow) Outcome(tp *topology.Topology, l Landing) topology.Outcome {
	return f.outcome(tp, l, [2]string{proxyIn, proxyOut})
}

// outcome is Outcome with the names of the inbound and outbound proxy.
func (f Flow) outcome(tp *topology.Topology, l Landing, proxies [2]string) topology.Outcome {
	dst := f.Dst(tp)
	switch l {
	case Proxy:
		if f.Kind == Inbound {
			return topology.Answer(proxies[0], dst)
		}
		return topology.Answer(proxies[1], dst)
	case Direct:
		if f.Kind == Outbound {
			return topology.Answer(peerName, dst)
		}
		return topology.Answer(appName, dst)
	case Refused:
		return topology.Refused
	case Timeout:
		return topology.TimedOut
	}
	return topology.Outcome{Result: "no expectation written"}
}

// podSide reports whether the flow's destination port is served in the pod
// (as opposed to the peer).
func (f Flow) podSide() bool { return f.Kind != Outbound }

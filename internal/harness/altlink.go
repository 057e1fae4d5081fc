package harness

import (
	"net/netip"

	"github.com/proxy-init/netlink-native/internal/topology"
)

// The second link between pod and peer that AddAltLink makes.
var (
	AltPodAddr4  = netip.MustParseAddr("198.51.100.2")
	AltPodAddr6  = netip.MustParseAddr("2001:db8:1::2")
	AltPeerAddr4 = netip.MustParseAddr("198.51.100.1")
	AltPeerAddr6 = netip.MustParseAddr("2001:db8:1::1")
)

// AddAltLink joins pod and peer with a second veth pair whose pod end is
// called podName. With a name that starts with "lo" it checks that the
// loopback exception matches the interface "lo" exactly, as iptables' -o lo
// does, and not every name beginning with it. DAD is already off in both
// namespaces (topology sets the "default" accept_dad before any link
// exists), and the link is waited for, not slept on.
func AddAltLink(tp *topology.Topology, podName string) error {
	return tp.AddLink(podName, "eth1", [2]netip.Addr{AltPodAddr4, AltPodAddr6}, [2]netip.Addr{AltPeerAddr4, AltPeerAddr6})
}

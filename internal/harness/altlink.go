package harness

import (
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"time"

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
	const peerName = "eth1"
	if err := ipRun(tp.PodName(), "link", "add", podName, "type", "veth", "peer", "name", peerName, "netns", tp.PeerName()); err != nil {
		return err
	}
	for _, l := range []struct {
		ns, dev string
		a4, a6  netip.Addr
	}{
		{tp.PodName(), podName, AltPodAddr4, AltPodAddr6},
		{tp.PeerName(), peerName, AltPeerAddr4, AltPeerAddr6},
	} {
		for _, args := range [][]string{
			{"addr", "add", l.a4.String() + "/24", "dev", l.dev},
			{"addr", "add", l.a6.String() + "/64", "dev", l.dev, "nodad"},
			{"link", "set", l.dev, "up"},
		} {
			if err := ipRun(l.ns, args...); err != nil {
				return err
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ready := true
		for _, l := range [][2]string{{tp.PodName(), podName}, {tp.PeerName(), peerName}} {
			link, err := ipOut(l[0], "-o", "link", "show", "dev", l[1])
			if err != nil {
				return err
			}
			tent, err := ipOut(l[0], "-o", "-6", "addr", "show", "dev", l[1], "tentative")
			if err != nil {
				return err
			}
			if !strings.Contains(link, "LOWER_UP") || strings.TrimSpace(tent) != "" {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("second link %s not ready after 5s", podName)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ipRun(ns string, args ...string) error {
	_, err := ipOut(ns, args...)
	return err
}

func ipOut(ns string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"-n", ns}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

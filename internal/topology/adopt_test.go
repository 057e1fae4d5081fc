package topology

import (
	"net/netip"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// Closing an adopted topology leaves the caller's namespaces open: Adopt
// creates and deletes nothing.
func TestAdoptedCloseLeavesTheCallersNamespaces(t *testing.T) {
	pod, peer := testns.New(t), testns.New(t)
	a := netip.MustParseAddr("192.0.2.2")
	tp := Adopt(t, pod.File(), peer.File(), a, netip.Addr{}, a, netip.Addr{})
	if err := tp.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, ns := range []*testns.NS{pod, peer} {
		if _, err := ns.File().Stat(); err != nil {
			t.Errorf("the caller's namespace file after Close: %v", err)
		}
	}
}

package topology

import (
	"net/netip"
	"os"
	"testing"
)

// Adopt wraps two namespaces made by someone else, such as a CNI chain's
// pod and the node namespace its bridge lives in, so that Listen, Dial and
// Do work in them and flows can be judged as in a topology New made. The
// caller keeps owning the namespaces: Adopt creates and closes nothing. The
// addresses are the ones flows dial: the pod's and the peer's.
func Adopt(t testing.TB, pod, peer *os.File, podAddr4, podAddr6, peerAddr4, peerAddr6 netip.Addr) *Topology {
	return &Topology{
		t:         t,
		files:     [2]*os.File{pod, peer},
		PodAddr4:  podAddr4,
		PodAddr6:  podAddr6,
		PeerAddr4: peerAddr4,
		PeerAddr6: peerAddr6,
	}
}

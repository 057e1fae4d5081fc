package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// NS names one of the two namespaces of a Topology.
type NS int

const (
	// Pod is the namespace proxy-init programs; it holds the proxy.
	Pod NS = iota
	// Peer is the other end of the veth: a client or server elsewhere.
	Peer
)

func (n NS) String() string {
	switch n {
	case Pod:
		return "pod"
	case Peer:
		return "peer"
	}
	return fmt.Sprintf("NS(%d)", int(n))
}

// LinkName is the name of the veth end in both namespaces (they do not share
// a name space for links, so the same name is fine and mimics a pod's eth0).
const LinkName = "eth0"

// prefix starts every name OwnName makes; Stale relies on the pid that
// follows it.
const prefix = "pit-"

var counter atomic.Uint64

// Topology is a pod namespace and a peer namespace joined by a veth pair.
// All of it is removed by Close, which New registers as the test's cleanup.
type Topology struct {
	t testing.TB // nil when made by Create
	// owned holds the namespaces Create made (nattest's, held by a
	// descriptor only); nil for an adopted topology, whose namespaces
	// belong to the caller of Adopt and which Close leaves alone.
	owned [2]*nattest.Namespace
	files [2]*os.File

	// Addresses on the veth ends (documentation ranges, so nothing on a
	// real network can be reached by mistake).
	PodAddr4, PodAddr6, PeerAddr4, PeerAddr6 netip.Addr
}

var (
	podAddr4  = netip.MustParseAddr("192.0.2.2")
	podAddr6  = netip.MustParseAddr("2001:db8::2")
	peerAddr4 = netip.MustParseAddr("192.0.2.1")
	peerAddr6 = netip.MustParseAddr("2001:db8::1")
)

// Path names the namespace for another process while the Topology is open:
// /proc/<our pid>/fd/<fd>, which proxy-init --netns, nsenter --net, runc,
// podman's ns: and `ip link ... netns` open like any namespace file. Nothing
// of it exists outside this process's descriptor table.
func (tp *Topology) Path(ns NS) string {
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), tp.files[ns].Fd())
}

// FD is an open descriptor of the namespace (for nftables.WithNetNSFd and
// the like). It belongs to the Topology and is closed at cleanup: do not
// close it.
func (tp *Topology) FD(ns NS) int { return int(tp.files[ns].Fd()) }

// PodPath is Path(Pod).
func (tp *Topology) PodPath() string { return tp.Path(Pod) }

// PodFD is FD(Pod).
func (tp *Topology) PodFD() int { return tp.FD(Pod) }

// Addr4 is the IPv4 address of the namespace's veth end.
func (tp *Topology) Addr4(ns NS) netip.Addr {
	if ns == Pod {
		return tp.PodAddr4
	}
	return tp.PeerAddr4
}

// Addr6 is the IPv6 address of the namespace's veth end.
func (tp *Topology) Addr6(ns NS) netip.Addr {
	if ns == Pod {
		return tp.PodAddr6
	}
	return tp.PeerAddr6
}

// Create makes the two namespaces and the veth pair between them, without a
// test: for benchmarks and demos. The caller must Close the topology; a
// failure half-way removes what was made. Listeners (Listen, ListenProxy,
// ListenAddr) need a topology made by New, which ties them to the test.
func Create() (*Topology, error) {
	tp := &Topology{
		PodAddr4:  podAddr4,
		PodAddr6:  podAddr6,
		PeerAddr4: peerAddr4,
		PeerAddr6: peerAddr6,
	}
	if err := tp.create(); err != nil {
		return nil, errors.Join(fmt.Errorf("topology: %w", err), tp.Close())
	}
	return tp, nil
}

// New creates the two namespaces and the veth pair between them, and
// registers their removal with t.Cleanup. It skips the test when not run as
// root, except under CI=true where a skipped kernel test would hide a broken
// CI setup, so it fails instead.
func New(t testing.TB) *Topology {
	t.Helper()
	testns.RequireRoot(t)
	tp, err := Create()
	if tp != nil {
		tp.t = t
		t.Cleanup(func() {
			if err := tp.Close(); err != nil {
				t.Errorf("topology cleanup: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// Close closes both namespace descriptors, the only references this
// process holds: the kernel frees each namespace, and the veth pair with
// it, once no socket or process is left in it. Closing twice, or a
// topology whose creation failed half-way, is not an error.
func (tp *Topology) Close() error {
	var errs []error
	for i, n := range tp.owned {
		if n != nil {
			errs = append(errs, n.Close())
			tp.owned[i], tp.files[i] = nil, nil
		}
	}
	return errors.Join(errs...)
}

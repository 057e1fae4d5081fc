package topology

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
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

// netnsDir is where iproute2 bind-mounts named namespaces.
const netnsDir = "/run/netns"

// prefix starts the name of every namespace we create; sweep relies on the
// pid that follows it.
const prefix = "pit-"

var counter atomic.Uint64

// Topology is a pod namespace and a peer namespace joined by a veth pair.
// All of it is removed by Close, which New registers as the test's cleanup.
type Topology struct {
	t     testing.TB // nil when made by Create
	names [2]string
	files [2]*os.File
	// adopted: the namespaces belong to the caller of Adopt; Close leaves
	// them alone.
	adopted bool

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

// Name is the iproute2 name of the namespace (for `ip netns exec NAME`).
func (tp *Topology) Name(ns NS) string { return tp.names[ns] }

// Path is the bind-mounted namespace file, usable with setns or nsenter --net.
func (tp *Topology) Path(ns NS) string { return filepath.Join(netnsDir, tp.names[ns]) }

// FD is an open descriptor of the namespace (for nftables.WithNetNSFd and
// the like). It belongs to the Topology and is closed at cleanup: do not
// close it.
func (tp *Topology) FD(ns NS) int { return int(tp.files[ns].Fd()) }

// PodName is Name(Pod).
func (tp *Topology) PodName() string { return tp.Name(Pod) }

// PeerName is Name(Peer).
func (tp *Topology) PeerName() string { return tp.Name(Peer) }

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
	sweepOnce(nil)
	base := fmt.Sprintf("%s%d-%d-", prefix, os.Getpid(), counter.Add(1))
	tp := &Topology{
		names:     [2]string{base + "pod", base + "peer"},
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
	sweepOnce(t)
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

// Close closes our handles first (an open namespace fd keeps the namespace
// alive after its name is gone) and then deletes both namespaces, which
// takes the veth pair with them. Deleting a namespace that is not there
// (a failure half-way) is not an error.
func (tp *Topology) Close() error {
	if tp.adopted {
		return nil
	}
	for i, f := range tp.files {
		if f != nil {
			f.Close()
			tp.files[i] = nil
		}
	}
	var errs []error
	for _, name := range tp.names {
		errs = append(errs, deleteNetns(name))
	}
	return errors.Join(errs...)
}

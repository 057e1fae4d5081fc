//go:build linux

package kernel

import (
	"fmt"
	"os"

	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/nat"
)

// Target names the network namespace a Client acts in. The zero value is
// the process's own namespace; AtPath and AtFD name another, which needs
// CAP_SYS_ADMIN (setns) as well as CAP_NET_ADMIN.
type Target struct {
	path string
	fd   int
	byFD bool
}

// AtPath is the namespace at path: /run/netns/NAME, /proc/PID/ns/net, a
// CNI_NETNS. Open opens it and keeps it open until Close.
func AtPath(path string) Target { return Target{path: path} }

// AtFD is the namespace open as fd, which the caller keeps open until the
// Client is closed. Any fd is valid, 0 included.
func AtFD(fd int) Target { return Target{fd: fd, byFD: true} }

func (t Target) String() string {
	switch {
	case t.byFD:
		return fmt.Sprintf("network namespace fd %d", t.fd)
	case t.path != "":
		return "network namespace " + t.path
	}
	return "own network namespace"
}

// open returns the descriptor to act in (-1: our own) and the file to close
// with the client, if Open opened one.
func (t Target) open() (int, *os.File, error) {
	switch {
	case t.byFD:
		if err := netns.Check(t.fd); err != nil {
			return 0, nil, nat.NewKernelError(nat.OpOpenNamespace, nat.KindOther, fmt.Errorf("%s: %w", t, err))
		}
		return t.fd, nil, nil
	case t.path != "":
		f, err := netns.Open(t.path)
		if err != nil {
			return 0, nil, classify(nat.OpOpenNamespace, err)
		}
		return int(f.Fd()), f, nil
	}
	return -1, nil, nil
}

package nattest

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/proxy-init/netlink-native/internal/netns"
	"golang.org/x/sys/unix"
)

// Namespace is a throwaway network namespace with loopback up, held by a
// file descriptor.
type Namespace struct {
	f *os.File
}

// NewNamespace creates a namespace. The caller must Close it; New does that
// for a test.
func NewNamespace() (*Namespace, error) {
	f, err := netns.New()
	if err != nil {
		return nil, err
	}
	ns := &Namespace{f: f}
	if err := ns.Do(loopbackUp); err != nil {
		f.Close()
		return nil, fmt.Errorf("bring loopback up: %w", err)
	}
	return ns, nil
}

// New creates a namespace that is closed when the test ends. It skips the
// test unless running as root, except under CI=true, where it fails: a
// skipped kernel test in CI would hide a failure.
func New(t testing.TB) *Namespace {
	t.Helper()
	RequireRoot(t)
	ns, err := NewNamespace()
	if err != nil {
		t.Fatalf("nattest: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// Run creates a namespace, runs fn with it and closes it, whatever fn does
// (a panic is re-raised after the cleanup).
func Run(fn func(ns *Namespace) error) error {
	ns, err := NewNamespace()
	if err != nil {
		return err
	}
	defer ns.Close()
	return fn(ns)
}

// RequireRoot skips a test when not root, except under CI=true where it
// fails instead.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("kernel tests need root; CI must run them as root")
	}
	t.Skip("kernel test: needs root")
}

// FD is the namespace's descriptor, for kernel.AtFD. It stays valid until
// Close.
func (n *Namespace) FD() int { return int(n.f.Fd()) }

// File is the namespace's descriptor as a file (for exec.Cmd.ExtraFiles).
func (n *Namespace) File() *os.File { return n.f }

// Path names the namespace for a child process (proxy-init --netns PATH,
// nsenter --net=PATH) while this process holds the descriptor.
func (n *Namespace) Path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.f.Fd()) }

// Do runs fn on a thread inside the namespace and waits for it. Sockets fn
// opens stay in the namespace. fn must not call t.Fatal (it runs on its own
// goroutine); return an error instead.
func (n *Namespace) Do(fn func() error) error { return netns.Do(n.FD(), fn) }

// Close releases the descriptor; the kernel frees the namespace once nothing
// else (a process, a socket, a mount) holds it.
func (n *Namespace) Close() error {
	if n.f == nil {
		return errors.New("nattest: namespace already closed")
	}
	err := n.f.Close()
	n.f = nil
	return err
}

// loopbackUp sets lo up in the current thread's namespace, without an ip
// binary.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

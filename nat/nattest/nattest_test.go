//go:build linux

package nattest_test

import (
	"errors"
	"net"
	"os"
	"strconv"
	"testing"

	"github.com/proxy-init/netlink-native/nat/nattest"
	"golang.org/x/sys/unix"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestRun: the function runs with a namespace that is not ours, whose
// loopback is up and whose Do runs inside it; afterwards the descriptor is
// closed, also when the function fails, and this thread never moved.
func TestRun(t *testing.T) {
	nattest.RequireRoot(t)
	home := inode(t, "/proc/thread-self/ns/net")
	var fd int
	var nsLink string
	boom := errors.New("boom")
	err := nattest.Run(func(ns *nattest.Namespace) error {
		fd = ns.FD()
		nsIno := inode(t, ns.Path())
		nsLink, _ = os.Readlink(ns.Path())
		if nsIno == home {
			t.Error("the throwaway namespace is our own")
		}
		err := ns.Do(func() error {
			var st unix.Stat_t
			if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
				return err
			}
			if st.Ino != nsIno {
				t.Error("Do did not run inside the namespace")
			}
			// Loopback is up: a listener on it accepts.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer ln.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return err
			}
			return c.Close()
		})
		if err != nil {
			t.Errorf("inside: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Run returned %v, want fn's error", err)
	}
	if link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && link == nsLink {
		t.Errorf("descriptor %d (%s) still open after Run", fd, link)
	}
	if inode(t, "/proc/thread-self/ns/net") != home {
		t.Fatal("the test's thread moved")
	}
}

package topology

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"

	"golang.org/x/sys/unix"
)

func TestPeerReachesPodAppBothFamilies(t *testing.T) {
	t.Parallel()
	tp := New(t)
	tp.Listen(Pod, "app", 8080)
	tp.Listen(Peer, "peer-app", 8080)
	for _, c := range []struct {
		from NS
		dst  netip.AddrPort
		want Outcome
	}{
		{Peer, netip.AddrPortFrom(tp.PodAddr4, 8080), Answer("app", netip.AddrPortFrom(tp.PodAddr4, 8080))},
		{Peer, netip.AddrPortFrom(tp.PodAddr6, 8080), Answer("app", netip.AddrPortFrom(tp.PodAddr6, 8080))},
		{Pod, netip.AddrPortFrom(tp.PeerAddr4, 8080), Answer("peer-app", netip.AddrPortFrom(tp.PeerAddr4, 8080))},
		{Pod, netip.AddrPortFrom(tp.PeerAddr6, 8080), Answer("peer-app", netip.AddrPortFrom(tp.PeerAddr6, 8080))},
		{Peer, netip.AddrPortFrom(tp.PodAddr4, 8081), Refused},
		{Peer, netip.AddrPortFrom(tp.PodAddr6, 8081), Refused},
	} {
		if got := tp.Dial(c.from, DialOptions{Dst: c.dst}); got != c.want {
			t.Errorf("%s -> %s: got %q, want %q", c.from, c.dst, got, c.want)
		}
	}
}

func TestDoRunsInsideAndComesBack(t *testing.T) {
	t.Parallel()
	tp := New(t)
	err := tp.Do(Pod, func() error {
		ifc, err := net.InterfaceByName(LinkName)
		if err != nil {
			return err
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return err
		}
		var s []string
		for _, a := range addrs {
			s = append(s, a.String())
		}
		if !strings.Contains(strings.Join(s, " "), "192.0.2.2/24") {
			t.Errorf("pod %s addresses %v lack 192.0.2.2/24", LinkName, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := tp.Do(Peer, func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Threads that Do handed back must all be home again: every thread we
	// can lock now is in the namespace of the thread-group leader.
	want := nsInode(t, "/proc/self/ns/net")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if got := nsInode(t, "/proc/thread-self/ns/net"); got != want {
				t.Errorf("a thread is in namespace %d, want %d", got, want)
			}
		})
	}
	wg.Wait()
}

func nsInode(t *testing.T, path string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Errorf("stat %s: %v", path, err)
	}
	return st.Ino
}

func TestCleanupRemovesNamespaces(t *testing.T) {
	var names []string
	t.Run("make", func(t *testing.T) {
		tp := New(t)
		tp.ListenProxy("proxy", 4140)
		names = []string{tp.PodName(), tp.PeerName()}
	})
	if t.Failed() {
		return
	}
	list, err := output(nil, "ip", "netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(list, n) {
			t.Errorf("namespace %s still listed after cleanup:\n%s", n, list)
		}
		if _, err := os.Lstat(netnsDir + "/" + n); err == nil {
			t.Errorf("%s/%s still exists", netnsDir, n)
		}
	}
}

func TestSweepRemovesDeadProcessLeftovers(t *testing.T) {
	testns.RequireRoot(t)
	// A pid that surely belonged to a process that is gone now.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stale := prefix + strconv.Itoa(cmd.Process.Pid) + "-1-pod"
	if err := addNetns(stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deleteNetns(stale) })
	mine := prefix + strconv.Itoa(os.Getpid()) + "-999999-pod"
	if err := addNetns(mine); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = deleteNetns(mine) })

	sweep(t)
	if _, err := os.Lstat(netnsDir + "/" + stale); err == nil {
		t.Errorf("sweep left %s of dead pid %d", stale, cmd.Process.Pid)
	}
	if _, err := os.Lstat(netnsDir + "/" + mine); err != nil {
		t.Errorf("sweep removed %s of a live process: %v", mine, err)
	}
}

package topology

import (
	"errors"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

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

// Cleanup must drop every reference this process holds to the namespaces:
// with nothing named or mounted, that is what frees them.
func TestCleanupReleasesNamespaces(t *testing.T) {
	var links []string
	t.Run("make", func(t *testing.T) {
		tp := New(t)
		tp.ListenProxy("proxy", 4140)
		for _, ns := range []NS{Pod, Peer} {
			l, err := os.Readlink(tp.Path(ns))
			if err != nil || !strings.HasPrefix(l, "net:[") {
				t.Fatalf("%s: %s is %q, %v; want a net:[inode] link", ns, tp.Path(ns), l, err)
			}
			links = append(links, l)
		}
	})
	if t.Failed() {
		return
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		l, _ := os.Readlink("/proc/self/fd/" + fd.Name())
		if slices.Contains(links, l) {
			t.Errorf("descriptor %s still holds namespace %s after cleanup", fd.Name(), l)
		}
	}
}

// netnsDir is where `ip netns add` would bind-mount a named namespace.
const netnsDir = "/run/netns"

// A topology, the commands run in it and its cleanup leave nothing under the
// host's /run: no /run/netns (if there was none), none of its namespaces
// bound there, and every path handed to other processes is this process's
// descriptor.
func TestNothingUnderRunNetns(t *testing.T) {
	_, errBefore := os.Stat(netnsDir)
	t.Run("use", func(t *testing.T) {
		tp := New(t)
		if err := addSecondLink(tp); err != nil {
			t.Fatal(err)
		}
		for _, ns := range []NS{Pod, Peer} {
			if p := tp.Path(ns); !strings.HasPrefix(p, "/proc/") {
				t.Errorf("%s path %s is not a descriptor of this process", ns, p)
			}
			if out, err := tp.Run(ns, "ip", "-o", "link", "show", "dev", LinkName); err != nil || !strings.Contains(out, "LOWER_UP") {
				t.Errorf("%s: ip link show %s: %q, %v", ns, LinkName, out, err)
			}
		}
		// By identity, not by listing: other processes on the machine
		// may add their own names meanwhile.
		for _, ns := range []NS{Pod, Peer} {
			mine := nsInode(t, tp.Path(ns))
			entries, _ := os.ReadDir(netnsDir)
			for _, e := range entries {
				if nsInode(t, netnsDir+"/"+e.Name()) == mine {
					t.Errorf("%s namespace is bound at %s/%s", ns, netnsDir, e.Name())
				}
			}
		}
	})
	if _, err := os.Stat(netnsDir); errors.Is(errBefore, os.ErrNotExist) && err == nil {
		t.Errorf("%s did not exist before the topology and does now", netnsDir)
	}
}

// The rule for everything that builds namespaces (tests, the demo, the
// benchmark): no named namespaces. A source line that would make, enter or
// delete one with iproute2 fails here, so it is caught without root too.
// Paths under /run/netns are not flagged: hack/e2e's nodes have a tmpfs of
// their own over /run, where their container runtime names pods'
// namespaces.
func TestNoNamedNamespacesInTheTree(t *testing.T) {
	bad := regexp.MustCompile(`ip netns (add|exec|del)|"netns", "(add|exec|del)"|"ip", "-n"`)
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		name := d.Name()
		if d.IsDir() || !(strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".sh") || name == "Makefile") || name == "topology_test.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			code := strings.TrimSpace(line)
			if strings.HasPrefix(code, "//") || strings.HasPrefix(code, "#") {
				continue
			}
			if bad.MatchString(code) {
				t.Errorf("%s:%d makes or enters a named namespace (use topology or nattest, held by a descriptor): %s", path, i+1, code)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addSecondLink adds a second veth pair, which runs ip with a namespace
// path as its netns argument.
func addSecondLink(tp *Topology) error {
	return tp.AddLink("eth1", "eth1",
		[2]netip.Addr{netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("2001:db8:1::2")},
		[2]netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("2001:db8:1::1")})
}

func TestStaleNamesOfDeadProcesses(t *testing.T) {
	// A pid that surely belonged to a process that is gone now.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := prefix + strconv.Itoa(cmd.Process.Pid) + "-1-pod"
	if !Stale(dead) {
		t.Errorf("Stale(%q) of a dead pid = false", dead)
	}
	if mine := OwnName("pod"); Stale(mine) {
		t.Errorf("Stale(%q) of this process = true", mine)
	}
	if Stale("other-1-1-pod") {
		t.Error("Stale of a name that is not ours = true")
	}
}

// Package netns runs small pieces of work inside another network namespace
// without moving the process: a locked OS thread enters the namespace, does
// the work and comes back. Sockets and files opened there stay bound to that
// namespace after the thread has left it.
package netns

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/proxy-init/netlink-native/internal/sysfile"
	"golang.org/x/sys/unix"
)

// Open opens a network namespace file (such as /run/netns/NAME or
// /proc/PID/ns/net) and checks that it is one.
func Open(path string) (*os.File, error) {
	f, err := sysfile.Open(path, unix.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	if err := checkNetNS(int(f.Fd())); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ErrNotNetNS is returned for a file that is not a network namespace.
var ErrNotNetNS = errors.New("not a network namespace")

func checkNetNS(fd int) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	// Namespace files live on nsfs; bind mounts of them keep that type.
	if st.Type != unix.NSFS_MAGIC {
		return ErrNotNetNS
	}
	kind, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err == nil && kind != unix.CLONE_NEWNET {
		return ErrNotNetNS
	}
	return nil
}

// Do runs fn on a thread inside the namespace nsFD, then returns the thread
// to its own namespace. If the way back is unknown (no /proc, as in an empty
// chroot) or fails, the thread stays locked so the runtime retires it rather
// than reuse a thread in the wrong namespace. A negative nsFD runs fn here.
func Do(nsFD int, fn func() error) error {
	if nsFD < 0 {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Found before leaving: /proc/self would name the main thread's.
		home, herr := sysfile.Open("/proc/thread-self/ns/net", unix.O_RDONLY)
		if herr == nil {
			defer home.Close()
		}
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		err := fn()
		if herr == nil && unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

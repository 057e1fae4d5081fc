// Package netns runs small pieces of work inside another network namespace
// without moving the process: a locked OS thread enters the namespace, does
// the work and comes back. Sockets and files opened there stay bound to that
// namespace after the thread has left it. It is the one copy of this
// mechanism: the engine (nat/kernel), the exported test helpers (nat/nattest)
// and the test topologies all use it.
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
	if err := Check(int(f.Fd())); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ErrNotNetNS is returned for a file that is not a network namespace.
var ErrNotNetNS = errors.New("not a network namespace")

// Check returns ErrNotNetNS unless fd is a network namespace.
func Check(fd int) error {
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

// EnterError is a failure to enter the namespace (setns), which needs
// CAP_SYS_ADMIN besides a descriptor of the namespace. Callers tell it from
// failures of the work itself by type.
type EnterError struct{ Err error }

func (e *EnterError) Error() string { return "enter network namespace: " + e.Err.Error() }
func (e *EnterError) Unwrap() error { return e.Err }

// Do runs fn on a thread inside the namespace nsFD, then returns the thread
// to its own namespace. A negative nsFD runs fn here. See DoUndo.
func Do(nsFD int, fn func() error) error {
	if nsFD < 0 {
		return fn()
	}
	return DoUndo(nsFD, fn, nil)
}

// DoUndo runs fn on a fresh goroutine locked to its thread inside the
// namespace nsFD, then undo (if any) to reset other per-thread state fn
// changed, and returns the thread home. Setns changes only the calling
// thread, so the thread runs nothing else until it is back. If undo or the
// way back fails, or the way back is unknown (no /proc, as in an empty
// chroot), the thread stays locked: a goroutine that exits locked takes its
// thread down with it, so the runtime never reuses a thread stranded in the
// wrong namespace. A panic in fn is re-raised in the caller.
func DoUndo(nsFD int, fn, undo func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// thread-self, not self: /proc/self is the thread-group leader,
		// which may be elsewhere. Found before leaving.
		home, herr := sysfile.Open("/proc/thread-self/ns/net", unix.O_RDONLY)
		if herr == nil {
			defer home.Close()
		}
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // still at home: safe to reuse
			done <- result{err: &EnterError{Err: err}}
			return
		}
		var r result
		func() {
			defer func() {
				if v := recover(); v != nil {
					r.panicked, r.value = true, v
				}
			}()
			r.err = fn()
		}()
		clean := herr == nil
		if undo != nil {
			if err := undo(); err != nil {
				clean = false
				r.err = errors.Join(r.err, fmt.Errorf("reset thread (thread discarded): %w", err))
			}
		}
		if herr == nil {
			if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
				clean = false
				r.err = errors.Join(r.err, fmt.Errorf("return to original namespace (thread discarded): %w", err))
			}
		}
		if clean {
			runtime.UnlockOSThread()
		}
		done <- r
	}()
	r := <-done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// New creates a network namespace and returns a descriptor of it, the only
// reference to it: nothing is mounted or named, so closing the descriptor
// (or the process ending) frees it. The calling thread's namespace is
// unchanged: the new namespace is made on a locked thread that is put back
// (or retired if that fails).
func New() (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := sysfile.Open("/proc/thread-self/ns/net", unix.O_RDONLY)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("create network namespace: %w", err)}
			return
		}
		defer home.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("create network namespace: %w", err)}
			return
		}
		f, err := sysfile.Open("/proc/thread-self/ns/net", unix.O_RDONLY)
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		if err != nil {
			err = fmt.Errorf("create network namespace: %w", err)
		}
		ch <- result{f, err}
	}()
	r := <-ch
	return r.f, r.err
}

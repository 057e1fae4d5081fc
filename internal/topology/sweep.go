package topology

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

var sweepOnceFlag sync.Once

// sweepOnce removes namespaces left by test processes that died before their
// cleanups ran. Once per process is enough: leftovers come from processes
// that are already dead, and a second sweep would race with the first.
func sweepOnce(t testing.TB) {
	sweepOnceFlag.Do(func() { sweep(t) })
}

// sweep logs to t when there is one (Create has none).
func sweep(t testing.TB) {
	for _, name := range staleNamespaces() {
		if err := deleteNetns(name); err != nil && t != nil {
			// Another test process may be sweeping the same names.
			t.Logf("topology: sweep %s: %v", name, err)
		}
	}
}

// staleNamespaces lists our namespaces whose creating pid no longer exists.
func staleNamespaces() []string {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return nil
	}
	var stale []string
	for _, e := range entries {
		if Stale(e.Name()) {
			stale = append(stale, e.Name())
		}
	}
	return stale
}

// Stale reports whether name is one of ours ("pit-<pid>-...") made by a test
// process that no longer exists. Tests that make other named objects (podman
// pods and images, runc containers) name them so too, and sweep with it.
func Stale(name string) bool {
	pid, ok := ownerPID(name)
	return ok && pid != os.Getpid() && !alive(pid)
}

// OwnName returns a name, unique in this process, that Stale recognises
// once this process is gone: "pit-<pid>-<n>-<role>".
func OwnName(role string) string {
	return fmt.Sprintf("%s%d-%d-%s", prefix, os.Getpid(), counter.Add(1), role)
}

// ownerPID parses the pid out of "pit-<pid>-<n>-<role>".
func ownerPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	pidStr, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(pidStr)
	return pid, err == nil && pid > 0
}

// alive reports whether a process exists. A reused pid makes us keep a stale
// namespace a little longer, which is harmless; the reverse cannot happen.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

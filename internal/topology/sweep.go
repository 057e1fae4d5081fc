package topology

import (
	"errors"
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

func sweep(t testing.TB) {
	for _, name := range staleNamespaces() {
		if err := deleteNetns(name); err != nil {
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
		pid, ok := ownerPID(e.Name())
		if ok && pid != os.Getpid() && !alive(pid) {
			stale = append(stale, e.Name())
		}
	}
	return stale
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

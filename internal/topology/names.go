package topology

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Stale reports whether name is one of ours ("pit-<pid>-...") made by a test
// process that no longer exists. Topology's namespaces need no such sweep
// (a descriptor holds them, and it dies with the process), but tests that
// make other named objects (podman pods and images, runc containers) name
// them with OwnName and sweep with Stale.
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
// object a little longer, which is harmless; the reverse cannot happen.
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

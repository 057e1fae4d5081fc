// Package testns gives tests network namespaces that exist only as long as
// an open file descriptor: nothing is mounted, nothing is named, so nothing
// is left behind when a test fails, panics or is killed, and the host's own
// namespace is never touched.
package testns

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireRoot skips a kernel test when not root, except under CI=true where
// a skipped kernel test would hide a failure, so it fails instead.
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

// NS is a throwaway network namespace.
type NS struct {
	File *os.File
}

// New creates a namespace with loopback up and closes it when the test ends.
func New(t testing.TB) *NS {
	t.Helper()
	RequireRoot(t)
	f, err := create()
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	ns := &NS{File: f}
	ns.Run(t, "ip", "link", "set", "lo", "up")
	return ns
}

// create unshares a new namespace on a locked thread, keeps a descriptor of
// it and puts the thread back where it was (or retires it if that fails).
func create() (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer home.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		ch <- result{f, err}
	}()
	r := <-ch
	return r.f, r.err
}

// FD is the namespace descriptor, for nat.Options.NetNSFD.
func (n *NS) FD() int { return int(n.File.Fd()) }

// Path names the namespace for a child process (such as proxy-init --netns)
// while this test process keeps the descriptor open.
func (n *NS) Path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.File.Fd()) }

// Command returns a command that runs inside the namespace (via nsenter,
// which only tests use).
func (n *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + n.Path(), name}, args...)...)
}

// Run runs a command inside the namespace and fails the test if it fails.
func (n *NS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := n.Output(name, args...)
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// Output runs a command inside the namespace and returns stdout and stderr.
func (n *NS) Output(name string, args ...string) (string, error) {
	cmd := n.Command(name, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}

// Ruleset returns "nft list ruleset" of the namespace.
func (n *NS) Ruleset(t testing.TB) string {
	t.Helper()
	return n.Run(t, "nft", "list", "ruleset")
}

// LoadNft loads an nft script into the namespace.
func (n *NS) LoadNft(t testing.TB, script string) {
	t.Helper()
	cmd := n.Command("nft", "-f", "-")
	cmd.Stdin = bytes.NewBufferString(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v\n%s\n--- script ---\n%s", err, out, script)
	}
}

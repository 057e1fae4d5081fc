// Package testns is our own tests' view of nat/nattest's throwaway
// namespaces (held by a descriptor: nothing mounted or named, nothing left
// behind): the same namespace, plus the nft/nsenter inspectors that only our
// tests use.
package testns

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/proxy-init/netlink-native/nat/nattest"
)

// RequireRoot skips a kernel test when not root, except under CI=true where
// a skipped kernel test would hide a failure, so it fails instead.
func RequireRoot(t testing.TB) {
	t.Helper()
	nattest.RequireRoot(t)
}

// NS is a throwaway network namespace.
type NS struct {
	*nattest.Namespace
}

// New creates a namespace with loopback up and closes it when the test ends
// (nattest.New: the one copy, which users' tests get too).
func New(t testing.TB) *NS {
	t.Helper()
	return &NS{nattest.New(t)}
}

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

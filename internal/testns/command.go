package testns

import (
	"fmt"
	"os"
	"testing"
)

// RunWithCommand is the TestMain of a package whose tests run cmd/NAME as
// built: as root outside a node namespace it only re-executes the tests in
// one (RunInNodeNamespace); there, or without root, it builds the command
// into a fresh directory that every user can read (tests may run it as
// nobody), hands the binary's path to use, runs the tests and removes the
// directory.
func RunWithCommand(m *testing.M, name string, use func(binary string)) int {
	if os.Geteuid() == 0 && !InNodeNamespace() {
		return RunInNodeNamespace(m)
	}
	dir, err := os.MkdirTemp("", name+"-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binary, err := BuildCommand(dir, name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	use(binary)
	return RunInNodeNamespace(m)
}

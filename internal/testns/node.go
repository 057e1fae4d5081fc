package testns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// nodeEnv marks the re-executed test binary.
const nodeEnv = "PROXY_INIT_TEST_NODE_NETNS"

// RunInNodeNamespace runs the package's tests in a network namespace of the
// process's own, standing in for a node: TestMain calls it. As root it
// re-executes the test binary in a fresh namespace (loopback up) and returns
// its exit code, so that everything the tests or the programs they start
// make in "their" namespace (a CNI chain's bridge, routes, sysctls, a
// loopback API server) lands there and dies with the process, never on the
// host. Without root the tests run here and skip (RequireRoot).
func RunInNodeNamespace(m *testing.M) int {
	if os.Getenv(nodeEnv) == "1" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "node namespace: ip link set lo up: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}
	if os.Geteuid() != 0 {
		return m.Run()
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Env = append(os.Environ(), nodeEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Pdeathsig: if go test kills us (timeout), the child goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "run the tests in a node namespace: %v\n", err)
	return 1
}

// InNodeNamespace reports whether RunInNodeNamespace moved this process into
// a namespace of its own; tests that make bridges check it before they do.
func InNodeNamespace() bool { return os.Getenv(nodeEnv) == "1" }

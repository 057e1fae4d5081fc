package topology

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/proxy-init/netlink-native/internal/netns"
)

// Do runs fn on an OS thread that has joined namespace ns, and waits for it
// (netns.DoUndo, the one setns mechanism). Sockets that fn creates stay in ns
// after fn returns. fn runs on a goroutine of its own, so it must not call
// t.Fatal (use the returned error); a panic in fn is re-raised in the caller.
func (tp *Topology) Do(ns NS, fn func() error) error {
	if err := netns.DoUndo(tp.FD(ns), fn, nil); err != nil {
		return fmt.Errorf("in namespace %s: %w", ns, err)
	}
	return nil
}

// Command returns a command that runs inside namespace ns: nsenter --net
// opens Path(ns), this process's descriptor, so the Topology must stay open
// until the command has started. Only the network namespace changes (no
// mount namespace, no /etc/netns, unlike `ip netns exec`).
func (tp *Topology) Command(ns NS, name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + tp.Path(ns), name}, args...)...)
}

// Run runs a command inside namespace ns and returns its stdout; its error
// carries the command line and stderr.
func (tp *Topology) Run(ns NS, name string, args ...string) (string, error) {
	return output(nil, tp.Command(ns, name, args...))
}

// RunInput is Run with stdin, for tools that read a script (nft -f -).
func (tp *Topology) RunInput(ns NS, stdin string, name string, args ...string) (string, error) {
	return output(strings.NewReader(stdin), tp.Command(ns, name, args...))
}

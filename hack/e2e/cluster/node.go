package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Node is the node's namespaces: a network namespace and a private mount
// namespace, held by one process (a shell that execs `sleep infinity`)
// which set them up. Every daemon joins both with nsenter.
type Node struct {
	cmd   *exec.Cmd
	netns string // /proc/PID/ns/net
}

// hostSysctls are the host-global sysctls kubelet writes unless they already
// hold its values; files holding those values are bind-mounted over them in
// the node's mount namespace, so the host's values never change.
var hostSysctls = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// cgroupMount is one cgroup hierarchy of the host: where it is mounted and
// with which options (v1: its controllers or name=).
type cgroupMount struct {
	dir, fstype, opts string
}

// hostCgroups lists the host's cgroup hierarchies from mountinfo.
func hostCgroups() ([]cgroupMount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	var out []cgroupMount
	s := bufio.NewScanner(f)
	for s.Scan() {
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 5 || len(qf) < 3 || (qf[0] != "cgroup" && qf[0] != "cgroup2") {
			continue
		}
		var opts []string
		for _, o := range strings.Split(qf[2], ",") {
			if o != "rw" && o != "ro" {
				opts = append(opts, o)
			}
		}
		if qf[0] == "cgroup" && len(opts) == 1 && strings.HasPrefix(opts[0], "name=") {
			opts = append([]string{"none"}, opts...)
		}
		out = append(out, cgroupMount{dir: pf[4], fstype: qf[0], opts: strings.Join(opts, ",")})
	}
	return out, s.Err()
}

// nodeScript sets the namespaces up, then becomes the holder. It runs in a
// new network and mount namespace (clone flags), as root.
func nodeScript(run string, nodeIP string, cgroups []cgroupMount) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -eu\n")
	// Nothing mounted from here on may propagate to the host.
	fmt.Fprintf(&b, "mount --make-rprivate /\n")
	fmt.Fprintf(&b, "ip link set lo up\n")
	// kubelet refuses a loopback node IP and there is no dummy driver: the
	// node IP lives on a bridge without ports.
	fmt.Fprintf(&b, "ip link add node0 type bridge\nip addr add %s/24 dev node0\nip link set node0 up\n", nodeIP)
	// A sysfs of this network namespace (kubelet and the CNI plugins read
	// /sys/class/net), then the cgroup hierarchies again on top of it.
	fmt.Fprintf(&b, "mount -t sysfs sysfs /sys\nmount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup\n")
	for _, c := range cgroups {
		fmt.Fprintf(&b, "mkdir -p %s\nmount -t %s -o %s %s %s\n", c.dir, c.fstype, shq(orNone(c.opts)), c.fstype, c.dir)
	}
	// Hard-coded paths of containerd, kubelet and the CNI plugins land in
	// the run directory instead of the host's.
	fmt.Fprintf(&b, "mount -t tmpfs -o mode=755 tmpfs /run\n")
	fmt.Fprintf(&b, "mount --bind %s/varlib /var/lib\nmount --bind %s/varlog /var/log\n", run, run)
	for k := range hostSysctls {
		fmt.Fprintf(&b, "mount --bind %s/sysctl/%s /proc/sys/%s\n", run, strings.ReplaceAll(k, "/", "."), k)
	}
	fmt.Fprintf(&b, "touch %s/node.ready\nexec sleep infinity\n", run)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "defaults"
	}
	return s
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// startNode creates the namespaces and waits until they are set up.
func startNode(ctx context.Context, run, nodeIP string) (*Node, error) {
	cgroups, err := hostCgroups()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"varlib", "varlog", "sysctl"} {
		if err := os.MkdirAll(filepath.Join(run, d), 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	for k, v := range hostSysctls {
		if err := os.WriteFile(filepath.Join(run, "sysctl", strings.ReplaceAll(k, "/", ".")), []byte(v+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("write the sysctl file %s: %w", k, err)
		}
	}
	logf, err := os.Create(filepath.Join(run, "logs", "node.log"))
	if err != nil {
		return nil, fmt.Errorf("create the node log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command("/bin/sh", "-c", nodeScript(run, nodeIP, cgroups))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL, // the namespaces die with the test
		Setpgid:    true,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("create the node's namespaces: %w", err)
	}
	n := &Node{cmd: cmd, netns: fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ready := filepath.Join(run, "node.ready")
	for {
		if fileExists(ready) {
			go func() { <-exited }()
			return n, nil
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(run, "logs", "node.log"))
			return nil, fmt.Errorf("set up the node's namespaces: %v: %s", err, bytes.TrimSpace(log))
		case <-ctx.Done():
			n.stop()
			return nil, fmt.Errorf("set up the node's namespaces: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// PID is the pid of the process holding the node's namespaces.
func (n *Node) PID() int { return n.cmd.Process.Pid }

// NetNS is the path of the node's network namespace (/proc/PID/ns/net).
func (n *Node) NetNS() string { return n.netns }

// Path returns path as the node's mount namespace sees it, through
// /proc/PID/root: e.g. Path("/run/netns") lists the pods' namespaces.
func (n *Node) Path(path string) string {
	return filepath.Join("/proc", strconv.Itoa(n.PID()), "root", path)
}

// Command returns a command that runs name inside the node's network and
// mount namespaces (nsenter execs it: the process's pid is cmd's).
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(n.PID()), "-m", "-n", "--", name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Run runs name in the node and returns its combined output; a failure's
// error includes that output.
func (n *Node) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := n.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("run %s %s in the node: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// DialContext dials addr from inside the node's network namespace.
func (n *Node) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return DialIn(ctx, n.netns, network, addr)
}

// Listen listens on addr inside the node's network namespace.
func (n *Node) Listen(network, addr string) (net.Listener, error) {
	return ListenIn(n.netns, network, addr)
}

// Do runs fn on a thread inside the node's network namespace.
func (n *Node) Do(fn func() error) error { return InNetNS(n.netns, fn) }

func (n *Node) stop() {
	if n == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Kill()
}

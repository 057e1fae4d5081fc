package topology

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/proxy-init/netlink-native/nat/nattest"
)

// create makes the namespaces (nattest's: held by a descriptor, loopback
// up), the veth pair and the addresses, then waits until both ends can
// carry traffic.
func (tp *Topology) create() error {
	for i := range tp.owned {
		n, err := nattest.NewNamespace()
		if err != nil {
			return fmt.Errorf("%s namespace: %w", NS(i), err)
		}
		tp.owned[i], tp.files[i] = n, n.File()
	}
	for _, ns := range []NS{Pod, Peer} {
		// Before the veth exists, so that it inherits "default" and never
		// starts duplicate address detection (see DisableDAD).
		if err := tp.Do(ns, DisableDAD); err != nil {
			return err
		}
	}
	return tp.AddLink(LinkName, LinkName,
		[2]netip.Addr{tp.PodAddr4, tp.PodAddr6}, [2]netip.Addr{tp.PeerAddr4, tp.PeerAddr6})
}

// AddLink joins pod and peer with a veth pair, podDev in the pod and peerDev
// in the peer, each end with an IPv4 /24 and an IPv6 /64 address, and waits
// until both ends can carry traffic. The peer end is created directly in the
// peer namespace: the host namespace never holds either end, not even for a
// moment.
func (tp *Topology) AddLink(podDev, peerDev string, pod, peer [2]netip.Addr) error {
	// ip takes an argument with a slash as the namespace's path.
	if err := tp.ip(Pod, "link", "add", podDev, "type", "veth",
		"peer", "name", peerDev, "netns", tp.Path(Peer)); err != nil {
		return err
	}
	devs := [2]string{podDev, peerDev}
	for i, addrs := range [2][2]netip.Addr{pod, peer} {
		if err := tp.ipBatch(NS(i),
			fmt.Sprintf("addr add %s/24 dev %s", addrs[0], devs[i]),
			fmt.Sprintf("addr add %s/64 dev %s nodad", addrs[1], devs[i]),
			fmt.Sprintf("link set %s up", devs[i]),
		); err != nil {
			return err
		}
	}
	return tp.waitReady(5*time.Second, devs)
}

// DisableDAD turns duplicate address detection off in the current thread's
// namespace. /proc/sys/net resolves to the namespace of the thread that opens
// the file (unlike /proc/net, which follows the thread-group leader), so it
// must run under Do. The kernel skips DAD only when both "all" and the
// device's own accept_dad are < 1, hence "all" plus "default" before the
// device exists; the nodad flag on the address covers the global address and
// this covers the link-local one the kernel adds on link up.
func DisableDAD() error {
	for _, f := range []string{"all", "default"} {
		p := "/proc/sys/net/ipv6/conf/" + f + "/accept_dad"
		if err := os.WriteFile(p, []byte("0"), 0); err != nil {
			return fmt.Errorf("disable DAD: %w", err)
		}
	}
	return nil
}

// waitReady waits until both veth ends have carrier and no IPv6 address is
// still tentative: a connect to a tentative address fails with
// EADDRNOTAVAIL, which would look like a rule bug in the tests.
func (tp *Topology) waitReady(limit time.Duration, devs [2]string) error {
	deadline := time.Now().Add(limit)
	for {
		var notReady []string
		for _, ns := range []NS{Pod, Peer} {
			link, err := tp.ipOut(ns, "-o", "link", "show", "dev", devs[ns])
			if err != nil {
				return err
			}
			if !strings.Contains(link, "LOWER_UP") {
				notReady = append(notReady, ns.String()+": no carrier")
			}
			tent, err := tp.ipOut(ns, "-o", "-6", "addr", "show", "tentative")
			if err != nil {
				return err
			}
			if strings.TrimSpace(tent) != "" {
				notReady = append(notReady, ns.String()+": tentative "+strings.TrimSpace(tent))
			}
			failed, err := tp.ipOut(ns, "-o", "-6", "addr", "show", "dadfailed")
			if err != nil {
				return err
			}
			if strings.TrimSpace(failed) != "" {
				return fmt.Errorf("%s: IPv6 DAD failed: %s", ns, failed)
			}
		}
		if len(notReady) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("veth not ready after %v: %s", limit, strings.Join(notReady, "; "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ip runs `ip args...` inside ns.
func (tp *Topology) ip(ns NS, args ...string) error {
	_, err := tp.ipOut(ns, args...)
	return err
}

func (tp *Topology) ipOut(ns NS, args ...string) (string, error) {
	return output(nil, tp.Command(ns, "ip", args...))
}

// ipBatch runs several ip commands in one process (one exec instead of many
// keeps New fast enough to call per test).
func (tp *Topology) ipBatch(ns NS, lines ...string) error {
	_, err := output(strings.NewReader(strings.Join(lines, "\n")+"\n"), tp.Command(ns, "ip", "-batch", "-"))
	return err
}

// output runs cmd and returns its stdout; the error names the command
// line and carries its stderr, which is where ip and iptables explain.
func output(stdin io.Reader, cmd *exec.Cmd) (string, error) {
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", cmd, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

//go:build linux

package kernel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/internal/sysfile"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
)

// IPv6Available reports whether the running kernel has IPv6. A kernel booted
// with ipv6.disable=1 has no /proc/sys/net/ipv6; where /proc is not mounted
// at all (an empty chroot) we cannot tell, and let the kernel decide. It is
// a property of the kernel, not of the namespace.
func (c *Client) IPv6Available() bool { return ipv6AvailableAt("/proc") }

func ipv6AvailableAt(proc string) bool {
	// The common answer takes one lookup; /proc lookups are a measurable
	// part of a pod's start, so the second is only made to tell "no IPv6"
	// from "no /proc".
	if _, err := os.Stat(proc + "/sys/net/ipv6"); err == nil {
		return true
	}
	_, err := os.Stat(proc + "/sys/net")
	return err != nil
}

// LegacyNATPresent reports whether the namespace has a legacy (x_tables)
// iptables nat table. Its rules run on the same hooks as ours, so they can
// rewrite or shadow our redirects. Without /proc we cannot tell and say no.
func (c *Client) LegacyNATPresent(ctx context.Context) (bool, error) {
	var names []byte
	err := netns.Do(c.nsFD, func() error {
		var err error
		names, err = readProcFile("/proc/thread-self/net/ip_tables_names")
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, classify(nat.OpProbe, fmt.Errorf("read /proc/net/ip_tables_names: %w", err))
	}
	for _, name := range strings.Fields(string(names)) {
		if name == "nat" {
			return true, nil
		}
	}
	return false, nil
}

func readProcFile(path string) ([]byte, error) {
	f, err := sysfile.Open(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// closeWaitSysctl is the conntrack timeout --timeout-close-wait-secs sets.
const closeWaitSysctl = "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait"

// OpenCloseWait opens the namespace's conntrack close-wait timeout for
// writing. The file belongs to the namespace it was opened in, so it is
// opened from a thread inside the namespace; no sysctl binary is involved.
// It does not exist until conntrack is loaded, which our NAT rules do:
// callers try again after installing when this returns fs.ErrNotExist.
func (c *Client) OpenCloseWait(ctx context.Context) (nat.Sysctl, error) {
	var f *os.File
	err := netns.Do(c.nsFD, func() error {
		var err error
		f, err = sysfile.Open(closeWaitSysctl, unix.O_WRONLY)
		return err
	})
	if err != nil {
		// Not classified by errno: /proc/sys refuses a non-root writer
		// with EACCES by its file mode, not by a security module.
		return nil, nat.NewKernelError(nat.OpSysctl, nat.KindOther, fmt.Errorf("open sysctl net.netfilter.nf_conntrack_tcp_timeout_close_wait: %w", err))
	}
	return sysctlFile{f}, nil
}

type sysctlFile struct{ f *os.File }

// Set writes a decimal value.
func (s sysctlFile) Set(v int) error {
	if _, err := s.f.WriteString(strconv.Itoa(v) + "\n"); err != nil {
		return nat.NewKernelError(nat.OpSysctl, nat.KindOther, fmt.Errorf("write sysctl: %w", err)) // err names the file
	}
	return nil
}

func (s sysctlFile) Close() error { return s.f.Close() }

package nat

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/internal/sysfile"
	"golang.org/x/sys/unix"
)

// LegacyNATPresent reports whether the namespace has a legacy (x_tables)
// iptables nat table. Its rules run on the same hooks as ours, so they can
// rewrite or shadow our redirects. Without /proc we cannot tell and say no.
func LegacyNATPresent(nsFD int) (bool, error) {
	var names []byte
	err := netns.Do(nsFD, func() error {
		var err error
		names, err = readProcFile("/proc/thread-self/net/ip_tables_names")
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read /proc/net/ip_tables_names: %w", err)
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

// OpenCloseWaitSysctl opens the namespace's conntrack close-wait timeout for
// writing. The file belongs to the namespace it was opened in, so it is
// opened from a thread inside nsFD; no sysctl binary is involved. It does
// not exist until conntrack is loaded, which our NAT rules do: callers try
// again after installing when this returns fs.ErrNotExist.
func OpenCloseWaitSysctl(nsFD int) (*os.File, error) {
	var f *os.File
	err := netns.Do(nsFD, func() error {
		var err error
		f, err = sysfile.Open(closeWaitSysctl, unix.O_WRONLY)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open sysctl net.netfilter.nf_conntrack_tcp_timeout_close_wait: %w", err)
	}
	return f, nil
}

// WriteSysctl writes a decimal value to an opened sysctl file.
func WriteSysctl(f *os.File, v int) error {
	if _, err := f.WriteString(strconv.Itoa(v) + "\n"); err != nil {
		return fmt.Errorf("write sysctl: %w", err) // err names the file
	}
	return nil
}

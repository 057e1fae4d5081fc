package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Section 8: the CNI node installer, proxy-init-cni-install, beside
// upstream's linkerd2-cni-install when upstreamInstallEnv names it (built
// from linkerd2-proxy-init's source: its module is not on the Go module
// proxy). Both run the same way, on a node tree in a temporary directory,
// each inside its own mount namespace (`unshare -m`, private propagation)
// where a tmpfs over /run holds the service account directory upstream
// reads from its fixed path: nothing on the host is touched. Reaction
// times are taken with inotify on the net directory, from the rename that
// replaces the conflist (or swaps the token's ..data) to the event of the
// installer's own rename whose content holds the change, so the bench
// never polls; rounds alternate between the installers, each idle in
// between. Peak RSS is the installer's own (unshare and sh exec into it).

const upstreamInstallEnv = "BENCH_UPSTREAM_CNI_INSTALL"

func (r *runner) sectionInstaller() error {
	bins := []struct{ key, label, path string }{
		{"ours", "ours (`proxy-init-cni-install`)", filepath.Join(filepath.Dir(r.bin), "proxy-init-cni-install")},
	}
	if up := os.Getenv(upstreamInstallEnv); up != "" {
		bins = append(bins, struct{ key, label, path string }{"upstream", "upstream's `linkerd2-cni-install` (" + upstreamCNICommit + ")", up})
	} else {
		r.res.InstallersMissing = fmt.Sprintf("upstream's installer not measured in this run: set %s to upstream's linkerd2-cni-install built from source (commit %s: `CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' ./cni-install`)", upstreamInstallEnv, upstreamCNICommit)
	}
	var insts []*installer
	defer func() {
		for _, in := range insts {
			in.stop()
		}
	}()
	res := make([]InstallerResult, len(bins))
	for i, b := range bins {
		in, err := startInstaller(b.key, b.path, filepath.Join(filepath.Dir(r.bin), "proxy-init-cni"))
		if err != nil {
			return err
		}
		insts = append(insts, in)
		fi, err := os.Stat(in.bin)
		if err != nil {
			return err
		}
		res[i] = InstallerResult{Key: b.key, Label: b.label, Binary: Binary{Path: in.bin, Bytes: fi.Size(), Static: isStatic(in.bin)},
			Conflist: Sample{Key: b.key + "-conflist"}, Token: Sample{Key: b.key + "-token"}}
	}
	for round := range r.p.InstallerRuns {
		for i, in := range insts {
			ms, err := in.conflistReaction()
			if err != nil {
				return fmt.Errorf("%s, round %d, conflist: %w", in.name, round, err)
			}
			res[i].Conflist.MS = append(res[i].Conflist.MS, ms)
			time.Sleep(5 * time.Millisecond) // each reaction from idle
			if ms, err = in.tokenReaction(); err != nil {
				return fmt.Errorf("%s, round %d, token: %w", in.name, round, err)
			}
			res[i].Token.MS = append(res[i].Token.MS, ms)
			time.Sleep(5 * time.Millisecond) // idle before the next one
		}
	}
	for i, in := range insts {
		rss, err := in.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", in.name, err)
		}
		res[i].MaxRSSKiB = rss
		logf("   %s: conflist %.2f ms, token %.2f ms (medians), %d bytes, peak RSS %d KiB",
			in.name, res[i].Conflist.Median(), res[i].Token.Median(), res[i].Binary.Bytes, rss)
	}
	r.res.Installers = res
	return nil
}

// installer is one installer running on its own node tree.
type installer struct {
	name, bin, root, net, sa string
	cmd                      *exec.Cmd
	// stderr is the installer's, a file in root: the child writes it
	// directly, so reading it while the installer runs races with nothing
	// (a bytes.Buffer would be filled by os/exec's copying goroutine).
	stderr  string
	inotify int
	gen     int
}

const entryType = `"type": "linkerd-cni"`

var conflist = []byte(`{"cniVersion":"0.3.1","name":"k8s-pod-network","plugins":[{"type":"ptp","ipam":{"type":"host-local"}},{"type":"portmap","capabilities":{"portMappings":true}}]}`)

func startInstaller(name, bin, pluginPath string) (_ *installer, err error) {
	bin, err = filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp("", "cniinstallbench-"+name+"-")
	if err != nil {
		return nil, err
	}
	in := &installer{name: name, bin: bin, root: root, net: root + "/host/etc/cni/net.d", sa: root + "/sa", inotify: -1}
	// The caller stops only what it got back: on a failure, the installer
	// (one that never got ready keeps running) and its tree go here.
	defer func() {
		if err != nil {
			in.stop()
		}
	}()
	for _, d := range []string{in.net, root + "/host/opt/cni/bin", root + "/image", in.sa} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// The binary it copies to the node: our plugin (what the DaemonSet
	// carries, ~15 MB), so that peak memory includes copying it.
	plugin, err := os.ReadFile(pluginPath)
	if err != nil {
		return nil, fmt.Errorf("the plugin to install: %w", err)
	}
	if err := os.WriteFile(root+"/image/linkerd-cni", plugin, 0o755); err != nil {
		return nil, err
	}
	if err := in.rotate(); err != nil {
		return nil, err
	}
	for _, f := range []string{"token", "ca.crt"} {
		if err := os.Symlink("..data/"+f, filepath.Join(in.sa, f)); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(in.net+"/10-ptp.conflist", conflist, 0o644); err != nil {
		return nil, err
	}
	if in.inotify, err = unix.InotifyInit1(unix.IN_CLOEXEC); err != nil {
		return nil, err
	}
	if _, err := unix.InotifyAddWatch(in.inotify, in.net, unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		return nil, err
	}
	// The service account directory at upstream's fixed path, in a tmpfs
	// over /run that only this mount namespace sees.
	script := `set -e; mount -t tmpfs tmpfs /run; mkdir -p /run/secrets/kubernetes.io/serviceaccount
mount --bind "$SA" /run/secrets/kubernetes.io/serviceaccount; exec "$BIN" --log-level=error`
	in.cmd = exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script)
	in.cmd.Env = append(os.Environ(), "SA="+in.sa, "BIN="+bin,
		"CONTAINER_MOUNT_PREFIX="+root+"/host", "CONTAINER_CNI_BIN_DIR="+root+"/image",
		"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443",
		`CNI_NETWORK_CONFIG={"name":"linkerd-cni","type":"linkerd-cni","kubernetes":{"kubeconfig":"__KUBECONFIG_FILEPATH__"}}`)
	in.stderr = root + "/installer.log"
	errFile, err := os.Create(in.stderr)
	if err != nil {
		return nil, err
	}
	defer errFile.Close() // the child holds its own descriptor
	in.cmd.Stderr = errFile
	if err := in.cmd.Start(); err != nil {
		return nil, err
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, _ := os.ReadFile(in.net + "/10-ptp.conflist")
		_, kerr := os.Stat(in.net + "/ZZZ-linkerd-cni-kubeconfig")
		if bytes.Contains(b, []byte(entryType)) && kerr == nil {
			break
		}
		if time.Now().After(end) {
			return nil, fmt.Errorf("%s never installed: %s", name, in.log())
		}
	}
	time.Sleep(50 * time.Millisecond)
	in.drain()
	return in, nil
}

// log is what the installer wrote to stderr so far.
func (in *installer) log() string {
	b, _ := os.ReadFile(in.stderr)
	return string(b)
}

// rotate is the kubelet's ..data swap with a new token.
func (in *installer) rotate() error {
	in.gen++
	dir := fmt.Sprintf("..2026_%06d", in.gen)
	if err := os.Mkdir(filepath.Join(in.sa, dir), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(in.sa, dir, "token"), fmt.Appendf(nil, "token-%d", in.gen), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(in.sa, dir, "ca.crt"), []byte("ca"), 0o644); err != nil {
		return err
	}
	old, _ := os.Readlink(filepath.Join(in.sa, "..data"))
	if err := os.Symlink(dir, filepath.Join(in.sa, "..data_tmp")); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(in.sa, "..data_tmp"), filepath.Join(in.sa, "..data")); err != nil {
		return err
	}
	if old != "" {
		return os.RemoveAll(filepath.Join(in.sa, old))
	}
	return nil
}

// drain reads the inotify events queued so far.
func (in *installer) drain() {
	buf := make([]byte, 64<<10)
	for {
		fds := []unix.PollFd{{Fd: int32(in.inotify), Events: unix.POLLIN}}
		if k, _ := unix.Poll(fds, 0); k <= 0 {
			return
		}
		unix.Read(in.inotify, buf)
	}
}

// waitFor returns when an event names file and the file then holds want.
func (in *installer) waitFor(file string, want []byte) error {
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return errors.New("no reaction within 5 s: " + in.log())
		}
		fds := []unix.PollFd{{Fd: int32(in.inotify), Events: unix.POLLIN}}
		if k, err := unix.Poll(fds, int(left.Milliseconds())+1); err != nil && !errors.Is(err, syscall.EINTR) {
			return err
		} else if k <= 0 {
			continue
		}
		nr, err := unix.Read(in.inotify, buf)
		if err != nil {
			return err
		}
		for off := 0; off+unix.SizeofInotifyEvent <= nr; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if name != file {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(in.net, file)); err == nil && bytes.Contains(b, want) {
				return nil
			}
		}
	}
}

func (in *installer) conflistReaction() (float64, error) {
	in.drain()
	tmp := in.net + "/.podnet.tmp"
	if err := os.WriteFile(tmp, conflist, 0o644); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if err := os.Rename(tmp, in.net+"/10-ptp.conflist"); err != nil {
		return 0, err
	}
	if err := in.waitFor("10-ptp.conflist", []byte(entryType)); err != nil {
		return 0, err
	}
	return float64(time.Since(t0).Microseconds()) / 1000, nil
}

func (in *installer) tokenReaction() (float64, error) {
	in.drain()
	t0 := time.Now()
	if err := in.rotate(); err != nil {
		return 0, err
	}
	if err := in.waitFor("ZZZ-linkerd-cni-kubeconfig", fmt.Appendf(nil, "token: token-%d\n", in.gen)); err != nil {
		return 0, err
	}
	return float64(time.Since(t0).Microseconds()) / 1000, nil
}

// stop ends the installer with SIGTERM and returns its peak RSS in KiB:
// VmHWM of /proc/PID/status just before (unshare and sh exec into the
// installer, so PID is the installer, and VmHWM counts from its exec).
// wait4's ru_maxrss would not do: a child forked with CLONE_VM, as Go
// forks, carries the parent's high-water mark (this bench's) past exec.
func (in *installer) stop() (int64, error) {
	if in.inotify >= 0 {
		unix.Close(in.inotify)
		in.inotify = -1
	}
	defer os.RemoveAll(in.root)
	if in.cmd == nil || in.cmd.Process == nil || in.cmd.ProcessState != nil {
		return 0, nil
	}
	hwm, herr := vmHWM(in.cmd.Process.Pid)
	in.cmd.Process.Signal(syscall.SIGTERM)
	if err := in.cmd.Wait(); err != nil {
		return 0, fmt.Errorf("exit: %v: %s", err, in.log())
	}
	return hwm, herr
}

func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kib int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib)
			return kib, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

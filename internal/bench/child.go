package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/internal/nfnl"
)

// childSpec is what one timed run does inside its own fresh network
// namespace: untimed setup commands, one timed command, untimed checks.
type childSpec struct {
	Setup   [][]string `json:"setup,omitempty"`
	Time    []string   `json:"time"`
	Post    [][]string `json:"post,omitempty"`
	Timeout Duration   `json:"timeout"`
	// Env is added to the timed command's environment (e.g. a PATH with
	// stubs in front).
	Env []string `json:"env,omitempty"`
	// Stdin is a file fed to the timed command (default: /dev/null).
	Stdin string `json:"stdin,omitempty"`
	// Cleanup runs after everything else, whatever failed (untimed): it
	// deletes what Setup made outside the child's own namespace.
	Cleanup [][]string `json:"cleanup,omitempty"`
	// GenNetns is the namespace whose nf_tables generation counts the
	// timed command's transactions, opened after Setup (default: the
	// child's own).
	GenNetns string `json:"gen_netns,omitempty"`
	// PodNetns: before Setup the child makes a fresh namespace of its own,
	// held by its descriptor (internal/netns.New: nothing named or mounted,
	// gone when the child exits), and puts that namespace's path in place
	// of podNetnsToken in Time, Env and GenNetns.
	PodNetns bool `json:"pod_netns,omitempty"`
}

// podNetnsToken stands for the path of the namespace PodNetns makes, which
// only the child knows (/proc/<child pid>/fd/<fd>).
const podNetnsToken = "@POD_NETNS@"

// withPodNetns makes the PodNetns namespace and returns spec with its path
// filled in, and the descriptor to close when the child is done.
func withPodNetns(spec childSpec) (childSpec, *os.File, error) {
	f, err := netns.New()
	if err != nil {
		return spec, nil, err
	}
	path := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd())
	fill := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = strings.ReplaceAll(s, podNetnsToken, path)
		}
		return out
	}
	spec.Time, spec.Env = fill(spec.Time), fill(spec.Env)
	spec.GenNetns = strings.ReplaceAll(spec.GenNetns, podNetnsToken, path)
	return spec, f, nil
}

// childResult is the child's answer, one JSON object on stdout.
type childResult struct {
	NS       int64  `json:"ns"` // wall time of the timed command, exec to exit
	Exit     int    `json:"exit"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Stderr   string `json:"stderr,omitempty"` // tail of the timed command's stderr
	Err      string `json:"err,omitempty"`    // a setup or post command failed
	// Generation of the namespace's nf_tables ruleset before and after the
	// timed command: the difference is the number of transactions it
	// committed.
	GenBefore uint32 `json:"gen_before"`
	GenAfter  uint32 `json:"gen_after"`
}

// Duration marshals as a Go duration string.
type Duration struct{ time.Duration }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	d.Duration = v
	return err
}

// cmdChild runs inside `unshare -n`: the namespace is new and empty and dies
// with this process. It reads a childSpec on stdin.
func cmdChild() error {
	var spec childSpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	res := runChild(spec)
	return json.NewEncoder(os.Stdout).Encode(res)
}

func runChild(spec childSpec) (res childResult) {
	if spec.PodNetns {
		filled, f, err := withPodNetns(spec)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		defer f.Close()
		spec = filled
	}
	defer func() {
		for _, argv := range spec.Cleanup {
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil && res.Err == "" {
				res.Err = fmt.Sprintf("cleanup %s: %v: %s", short(argv), err, tail(out))
			}
		}
	}()
	for _, argv := range spec.Setup {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			res.Err = fmt.Sprintf("setup %s: %v: %s", short(argv), err, tail(out))
			return res
		}
	}
	nsFD := -1
	if spec.GenNetns != "" {
		ns, err := netns.Open(spec.GenNetns)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		defer ns.Close()
		nsFD = int(ns.Fd())
	}
	sock, err := nfnl.Open(nsFD)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer sock.Close()
	if res.GenBefore, err = sock.Generation(); err != nil {
		res.Err = err.Error()
		return res
	}

	stderr, err := os.CreateTemp("", "bench-stderr-")
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer os.Remove(stderr.Name())
	defer stderr.Close()
	// Read-write: the timed command may write its output there (a
	// read-only descriptor makes every write fail with EBADF).
	devnull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer devnull.Close()
	cmd := exec.Command(spec.Time[0], spec.Time[1:]...) // resolves the path now, untimed
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, stderr
	if spec.Stdin != "" {
		in, err := os.Open(spec.Stdin)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		defer in.Close()
		cmd.Stdin = in
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if len(spec.Env) > 0 {
		cmd.Env = append(os.Environ(), spec.Env...)
	}
	timeout := spec.Timeout.Duration
	if timeout <= 0 {
		timeout = time.Hour
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		res.Err = err.Error()
		return res
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() {
		timedOut.Store(true)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole process group
	})
	werr := cmd.Wait()
	res.NS = time.Since(start).Nanoseconds()
	timer.Stop()
	res.TimedOut = timedOut.Load()

	var ee *exec.ExitError
	switch {
	case werr == nil:
	case errors.As(werr, &ee):
		res.Exit = ee.ExitCode()
	default:
		res.Err = werr.Error()
	}
	if res.TimedOut {
		// Let stragglers of the killed group go before the namespace does.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	_, _ = stderr.Seek(0, io.SeekStart)
	errText, _ := io.ReadAll(io.LimitReader(stderr, 1<<20))
	res.Stderr = tail(errText)
	if res.GenAfter, err = sock.Generation(); err != nil && res.Err == "" {
		res.Err = err.Error()
	}
	if res.Exit != 0 || res.TimedOut || res.Err != "" {
		return res
	}
	for _, argv := range spec.Post {
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			res.Err = fmt.Sprintf("check %s: %v: %s", short(argv), err, tail(out))
			return res
		}
	}
	return res
}

// tail keeps the end of a command's output for error messages.
func tail(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = append([]byte("..."), b[len(b)-2000:]...)
	}
	return string(b)
}

// short abbreviates a command line whose lists run to thousands of entries.
func short(argv []string) string {
	var parts []string
	for _, a := range argv {
		if len(a) > 60 {
			a = fmt.Sprintf("%s...(%d bytes)", a[:40], len(a))
		}
		parts = append(parts, a)
	}
	s := strings.Join(parts, " ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

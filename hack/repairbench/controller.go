package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// controller is the built proxy-init-cni-repair, run as a subprocess.
type controller struct {
	cmd        *exec.Cmd
	admin      string
	started    time.Time
	readyAfter time.Duration
}

func startController(ctx context.Context, p params) (*controller, error) {
	cmd := exec.Command(p.binary, "--kubeconfig", p.kubeconfig, "--node-name", p.node,
		"--controller-pod-name", "repairbench", "--admin-addr", p.adminAddr, "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	c := &controller{cmd: cmd, admin: "http://" + p.adminAddr, started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.binary, err)
	}
	return c, nil
}

func (c *controller) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(c.admin + "/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c.readyAfter = time.Since(c.started)
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w within %v", errNotReady, limit)
}

// rss is the subprocess's resident set (VmRSS), in bytes.
func (c *controller) rss() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", c.cmd.Process.Pid)
}

// metrics returns the /metrics lines of the named series.
func (c *controller) metrics(names ...string) []string {
	resp, err := http.Get(c.admin + "/metrics")
	if err != nil {
		return []string{err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(body), "\n") {
		name, _, _ := strings.Cut(l, " ")
		if slices.Contains(names, name) {
			out = append(out, l)
		}
	}
	return out
}

func (c *controller) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)-1) + 0.5)
	return s[i].Round(100 * time.Microsecond)
}

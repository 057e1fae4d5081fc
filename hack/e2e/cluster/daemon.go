package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// daemon is one process of the cluster, started in the node's namespaces,
// logging to logs/NAME.log, ended by its pid.
type daemon struct {
	name string
	pid  int
	done chan struct{}
	err  error
}

func (c *Cluster) startDaemon(name, bin string, args ...string) (*daemon, error) {
	logf, err := os.OpenFile(filepath.Join(c.dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: create its log: %w", name, err)
	}
	defer logf.Close()
	cmd := c.node.Command(context.Background(), bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// containerd finds runc and its shim, kubelet mount, on PATH; a test's
	// PATH may lack the sbin directories.
	cmd.Env = append(os.Environ(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { d.err = cmd.Wait(); close(d.done) }()
	c.mu.Lock()
	c.daemons[name] = d
	c.mu.Unlock()
	return d, nil
}

// exited reports whether the daemon has ended, with its error.
func (d *daemon) exited() (bool, error) {
	select {
	case <-d.done:
		return true, fmt.Errorf("%s exited: %v", d.name, d.err)
	default:
		return false, nil
	}
}

// stop sends SIGTERM, and SIGKILL after grace.
func (d *daemon) stop(grace time.Duration) {
	if d == nil {
		return
	}
	if ok, _ := d.exited(); ok {
		return
	}
	sig := syscall.SIGTERM
	if grace == 0 {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(d.pid, sig)
	select {
	case <-d.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(d.pid, syscall.SIGKILL)
	<-d.done
}

package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// killByMarker SIGKILLs every process whose command line mentions marker
// (a run directory): containerd's shims, which outlive containerd, name its
// socket there. Our own process is spared.
func killByMarker(marker string) {
	for attempt := 0; attempt < 20; attempt++ {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err != nil || !bytes.Contains(b, []byte(marker)) || !processAlive(pid) {
				continue
			}
			found = true
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if !found {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Sweep removes what runs killed before their Stop left behind (with
// SIGKILL, say): processes naming their run directory, their cgroups, the
// directory. A run is dead when the pid its directory is named after is.
// Start calls it; it never touches a live run's state.
func Sweep(log io.Writer) error {
	var errs []error
	ents, _ := os.ReadDir(RunBase())
	for _, e := range ents {
		pidStr, _, _ := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		dir := filepath.Join(RunBase(), e.Name())
		fmt.Fprintf(log, "cluster: sweeping %s, left by a run that is gone\n", dir)
		killByMarker(dir)
		if err := removeCgroupRoot(cgroupPrefix + pidStr); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
		}
	}
	// Cgroup roots whose run directory is already gone.
	dirs, _ := allDirs()
	for _, d := range dirs {
		cg, _ := os.ReadDir(d)
		for _, e := range cg {
			pidStr, ok := strings.CutPrefix(e.Name(), cgroupPrefix)
			pid, err := strconv.Atoi(pidStr)
			if !ok || err != nil || pid == os.Getpid() || processAlive(pid) {
				continue
			}
			if err := removeCgroupRoot(e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

var (
	liveMu sync.Mutex
	live   = map[*Cluster]bool{}
	once   sync.Once
)

// register tracks a cluster for the SIGINT/SIGTERM handler, which stops
// every live cluster before the process exits (status 130): an interrupted
// `go test` leaves nothing behind.
func register(c *Cluster) {
	liveMu.Lock()
	live[c] = true
	liveMu.Unlock()
	once.Do(func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
		go func() {
			s := <-ch
			fmt.Fprintf(os.Stderr, "cluster: %v: stopping every cluster\n", s)
			StopAll()
			os.Exit(130)
		}()
	})
}

func unregister(c *Cluster) {
	liveMu.Lock()
	delete(live, c)
	liveMu.Unlock()
}

// StopAll stops every cluster this process started and has not stopped.
func StopAll() {
	liveMu.Lock()
	var cs []*Cluster
	for c := range live {
		cs = append(cs, c)
	}
	liveMu.Unlock()
	for _, c := range cs {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "cluster: stop: %v\n", err)
		}
	}
}

package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKilledRunIsSwept boots a full node in a child process, SIGKILLs the
// child (no Stop, no signal handler: what a crash or `go test`'s timeout
// does), and checks that the daemons died with it (Pdeathsig) and that
// Sweep removes the rest: the run directory and the cgroups, leaving the
// host as it was.
func TestKilledRunIsSwept(t *testing.T) {
	if os.Getenv("PROXY_INIT_E2E_CHILD") == "1" {
		c, err := Start(context.Background(), Options{Log: os.Stderr})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("READY", c.Dir(), c.cgroup)
		select {}
	}
	requireRoot(t)
	before, err := SnapshotHost()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRunIsSwept$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), "PROXY_INIT_E2E_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "READY" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child did not boot: %q\n%s", line, stderr.String())
	}
	dir, cgroup := f[1], f[2]
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	// Every daemon got SIGKILL with its parent; give the kernel a moment.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && markerAlive(dir) {
		time.Sleep(50 * time.Millisecond)
	}
	if markerAlive(dir) {
		t.Errorf("processes of the killed run outlived it")
	}
	if !fileExists(dir) {
		t.Fatalf("the killed run left no directory to sweep: the test proves nothing")
	}
	if err := Sweep(testWriter{t}); err != nil {
		t.Fatal(err)
	}
	if fileExists(dir) {
		t.Errorf("Sweep left %s", dir)
	}
	dirs, _ := allDirs()
	for _, d := range dirs {
		if fileExists(filepath.Join(d, cgroup)) {
			t.Errorf("Sweep left the cgroup %s", filepath.Join(d, cgroup))
		}
	}
	after, _ := SnapshotHost()
	if ours, _ := Attributable(before.Diff(after)); len(ours) > 0 {
		t.Errorf("the host changed: %v", ours)
	}
}

// markerAlive reports whether a live process names marker in its command
// line.
func markerAlive(marker string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) {
			var pid int
			if _, err := fmt.Sscan(e.Name(), &pid); err == nil && pid != os.Getpid() && processAlive(pid) {
				return true
			}
		}
	}
	return false
}

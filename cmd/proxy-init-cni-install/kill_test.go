package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSIGKILLAtRandomMoments kills the installer with SIGKILL at random
// moments of its start, of its reactions and of its removal, many times, while a pod
// network keeps rewriting its conflist. After every kill, every
// configuration in the net directory is valid JSON with at most one entry
// of ours; the next start finishes the job, and a SIGTERM at the end
// leaves no entry, no kubeconfig, no binary and no temporary file.
func TestSIGKILLAtRandomMoments(t *testing.T) {
	n := newNode(t)
	for i := range 12 {
		must(t, os.WriteFile(filepath.Join(n.net, confName(i)), []byte(strings.ReplaceAll(calico, "calico", confName(i))), 0o644))
	}
	must(t, os.WriteFile(n.net+"/50-flannel.conf", []byte(`{"cniVersion":"0.3.1","name":"cbr0","type":"flannel"}`), 0o644))
	must(t, os.MkdirAll(n.host+"/etc/calico", 0o755))
	must(t, os.WriteFile(n.host+"/etc/calico/linked.json", []byte(calico), 0o644))
	must(t, os.Symlink("../../calico/linked.json", n.net+"/60-linked.conflist"))
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))

	// The pod network: rewrites 10-… by rename every millisecond or so. It
	// draws from a generator of its own: a rand.Rand is not safe for two
	// goroutines.
	writerRng := rand.New(rand.NewPCG(rng.Uint64(), 2))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			tmp := n.net + "/.podnet.tmp"
			if os.WriteFile(tmp, []byte(strings.ReplaceAll(calico, "calico", confName(0))), 0o644) == nil {
				os.Rename(tmp, n.net+"/"+confName(0))
			}
			time.Sleep(time.Duration(writerRng.IntN(2000)) * time.Microsecond)
		}
	}()
	var once sync.Once
	stopWriter := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer stopWriter()

	const runs = 60
	during := map[string]int{}
	for i := range runs {
		cmd, stderr := n.command(t)
		must(t, cmd.Start())
		time.Sleep(time.Duration(rng.IntN(250000)) * time.Microsecond)
		if rng.IntN(2) == 0 {
			// Killed while removing: SIGTERM, then SIGKILL a moment later.
			must(t, cmd.Process.Signal(os.Interrupt))
			time.Sleep(time.Duration(rng.IntN(30000)) * time.Microsecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		checkNode(t, n, i, stderr.String())
		switch log := stderr.String(); {
		case strings.Contains(log, "stopping"):
			during["removal"]++
		case strings.Contains(log, "installed; watching"):
			during["watching"]++
		default:
			during["start"]++
		}
	}
	// Where the kills landed: a run whose kills all land in one phase
	// tests less than it says.
	t.Logf("killed during: %v", during)
	stopWriter()

	cmd, stderr := n.command(t)
	must(t, cmd.Start())
	waitReady(t, stderr)
	must(t, cmd.Process.Signal(os.Interrupt))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	entries, _ := os.ReadDir(n.net)
	for _, e := range entries {
		name := filepath.Join(n.net, e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
			continue
		}
		if !strings.HasSuffix(name, ".conflist") && !strings.HasSuffix(name, ".conf") {
			t.Errorf("left behind: %s", e.Name())
			continue
		}
		data, err := os.ReadFile(name)
		must(t, err)
		if c := ours(t, name, data); c != 0 {
			t.Errorf("%s still holds %d entries of ours", e.Name(), c)
		}
	}
	if bins, _ := os.ReadDir(n.bin); len(bins) != 0 {
		t.Errorf("binaries left: %v", bins)
	}
}

func confName(i int) string {
	return "1" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + "-net.conflist"
}

func checkNode(t *testing.T, n *node, run int, log string) {
	t.Helper()
	entries, err := os.ReadDir(n.net)
	must(t, err)
	for _, e := range entries {
		name := filepath.Join(n.net, e.Name())
		if strings.HasPrefix(e.Name(), ".") || !(strings.HasSuffix(name, ".conflist") || strings.HasSuffix(name, ".conf")) {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if c := ours(t, name, data); c > 1 {
			t.Fatalf("run %d: %s holds %d entries of ours\n%s\n%s", run, e.Name(), c, data, log)
		}
	}
	for _, b := range []string{"linkerd-cni", "proxy-init-cni"} {
		if data, err := os.ReadFile(filepath.Join(n.bin, b)); err == nil {
			if want, _ := os.ReadFile(filepath.Join(n.image, b)); len(data) != len(want) {
				t.Fatalf("run %d: a partial binary %s (%d of %d bytes)", run, b, len(data), len(want))
			}
		}
	}
}

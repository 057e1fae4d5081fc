package cniinstall

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// running is an installer in Run on a tree.
type running struct {
	in   *Installer
	log  *testns.Buffer
	stop func() error // ends Run, then Remove
}

func start(t *testing.T, tr *tree) *running {
	t.Helper()
	r := &running{log: &testns.Buffer{}}
	r.in = New(tr.config(t), debugLogger(r.log))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- r.in.runNotify(ctx, ready)
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	stopped := false
	r.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			return err
		}
		return r.in.Remove()
	}
	t.Cleanup(func() { r.stop() })
	return r
}

// eventually waits for cond: the installer reacts to inotify events in
// its own goroutine. The bound is generous, never a measurement.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting: %s", what)
}

const calico = `{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {"type": "calico", "log_level": "info"},
    {"type": "portmap", "snat": true, "capabilities": {"portMappings": true}}
  ]
}
`

const calicoPatched = `{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "log_level": "info"
    },
    {
      "type": "portmap",
      "snat": true,
      "capabilities": {
        "portMappings": true
      }
    },
    {
      "name": "linkerd-cni",
      "type": "linkerd-cni",
      "kubernetes": {
        "kubeconfig": "/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"
      }
    }
  ]
}
`

func kubeconfigFor(server, token, ca string) string {
	return `# kubeconfig file for linkerd.io/cni-plugin
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ` + server + `
    certificate-authority-data: ` + ca + `
users:
- name: linkerd-cni
  user:
    token: ` + token + `
contexts:
- name: linkerd-cni-context
  context:
    cluster: local
    user: linkerd-cni
current-context: linkerd-cni-context`
}

// TestInstallAndRemove: the files upstream's installer writes, with exact
// contents, and after Remove the tree as it was, byte for byte.
func TestInstallAndRemove(t *testing.T) {
	tr := newTree(t)
	tr.write(t, "10-calico.conflist", calico)
	tr.write(t, "99-loopback.conf.bak", "not a configuration")
	before := snapshot(t, tr.host)
	r := start(t, tr)

	if got := tr.read(t, "10-calico.conflist"); got != calicoPatched {
		t.Fatalf("conflist:\n%s\nwant\n%s", got, calicoPatched)
	}
	// "CA-1" base64.
	if got := tr.read(t, "ZZZ-linkerd-cni-kubeconfig"); got != kubeconfigFor("https://10.96.0.1:443", "token-1", "Q0EtMQ==") {
		t.Fatalf("kubeconfig:\n%s", got)
	}
	fi, err := os.Stat(filepath.Join(tr.net, "ZZZ-linkerd-cni-kubeconfig"))
	must(t, err)
	if fi.Mode().Perm() != 0o600 { // upstream: 0644, its token readable by every user of the node
		t.Fatalf("kubeconfig mode %v, want 0600", fi.Mode().Perm())
	}
	for _, b := range []string{"linkerd-cni", "proxy-init-cni"} {
		fi, err := os.Stat(filepath.Join(tr.bin, b))
		must(t, err)
		got, _ := os.ReadFile(filepath.Join(tr.bin, b))
		if string(got) != "plugin binary\n" || fi.Mode().Perm() != 0o755 {
			t.Fatalf("%s: %q mode %v", b, got, fi.Mode())
		}
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, "after removal", snapshot(t, tr.host), before)
}

// TestRepatchWhenRewritten: the pod network rewriting its conflist (by
// rename, or in place) gets our entry back; a conflist that appears later
// is patched (linkerd2#14725); Remove then takes our entry out of each.
func TestRepatchWhenRewritten(t *testing.T) {
	tr := newTree(t)
	tr.write(t, "10-calico.conflist", calico)
	r := start(t, tr)
	tr.write(t, "10-calico.conflist", calico)
	eventually(t, "entry back after a rename", func() bool { return tr.read(t, "10-calico.conflist") == calicoPatched })
	must(t, os.WriteFile(filepath.Join(tr.net, "10-calico.conflist"), []byte(calico), 0o644))
	eventually(t, "entry back after an in-place write", func() bool { return tr.read(t, "10-calico.conflist") == calicoPatched })

	tr.write(t, "05-cilium.conflist", strings.Replace(calico, "calico", "cilium", 1))
	want := strings.Replace(calicoPatched, "calico", "cilium", 1)
	eventually(t, "a conflist written after start is patched", func() bool { return tr.read(t, "05-cilium.conflist") == want })
	// Created empty, then filled in place (no rename): patched once full,
	// and the empty moment is no warning.
	f, err := os.Create(filepath.Join(tr.net, "07-late.conflist"))
	must(t, err)
	time.Sleep(20 * time.Millisecond)
	_, err = f.WriteString(calico)
	must(t, err)
	must(t, f.Close())
	eventually(t, "a conflist filled in place is patched", func() bool { return tr.read(t, "07-late.conflist") == calicoPatched })
	if strings.Contains(r.log.String(), "malformed") {
		t.Fatalf("a file being written was called malformed:\n%s", r.log.String())
	}

	// The pod network's newest version, untouched by us since: Remove
	// takes out our entry only.
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if got := tr.read(t, "10-calico.conflist"); got != calico {
		t.Fatalf("after removal:\n%s", got)
	}
	if got := tr.read(t, "05-cilium.conflist"); got != strings.Replace(calico, "calico", "cilium", 1) {
		t.Fatalf("after removal:\n%s", got)
	}
}

// TestRemoveKeepsTheirChanges: a file edited after our write, our entry
// still last, is left alone while we run, and on removal loses our entry
// only: the edit stays.
func TestRemoveKeepsTheirChanges(t *testing.T) {
	tr := newTree(t)
	tr.write(t, "10-calico.conflist", calico)
	r := start(t, tr)
	changed := strings.Replace(calicoPatched, `"log_level": "info"`, `"log_level": "debug"`, 1)
	tr.write(t, "10-calico.conflist", changed)
	// A second file, written after the edit: once it is patched, the edit
	// has been seen too (one goroutine, events in order).
	tr.write(t, "20-other.conflist", calico)
	eventually(t, "the later file patched", func() bool { return tr.read(t, "20-other.conflist") == calicoPatched })
	if got := tr.read(t, "10-calico.conflist"); got != changed {
		t.Fatalf("an edited conflist that still ends with our entry was rewritten:\n%s", got)
	}
	must(t, r.stop())
	want := `{
  "name": "k8s-pod-network",
  "cniVersion": "0.3.1",
  "plugins": [
    {
      "type": "calico",
      "log_level": "debug"
    },
    {
      "type": "portmap",
      "snat": true,
      "capabilities": {
        "portMappings": true
      }
    }
  ]
}
`
	if got := tr.read(t, "10-calico.conflist"); got != want {
		t.Fatalf("after removal:\n%s\nwant\n%s", got, want)
	}
	if got := tr.read(t, "20-other.conflist"); got != calico {
		t.Fatalf("after removal:\n%s", got)
	}
}

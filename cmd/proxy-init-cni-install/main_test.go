package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// These tests run the built binary, as a DaemonSet's container runs it, on
// a node's directories laid out in a temporary directory (never the
// host's). They need no root.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func installer(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "proxy-init-cni-install-")
		if buildErr == nil {
			binPath, buildErr = testns.BuildCommand(binDir, "proxy-init-cni-install")
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type node struct {
	root, host, net, bin, image, sa string
	env                             []string
}

func newNode(t *testing.T) *node {
	t.Helper()
	root := t.TempDir()
	n := &node{root: root, host: root + "/host", net: root + "/host/etc/cni/net.d", bin: root + "/host/opt/cni/bin",
		image: root + "/image", sa: root + "/sa"}
	for _, d := range []string{n.net, n.bin, n.image, n.sa + "/..2026_12_04"} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(n.sa+"/..2026_12_04/token", []byte("tok"), 0o644))
	must(t, os.WriteFile(n.sa+"/..2026_12_04/ca.crt", []byte("ca"), 0o644))
	must(t, os.Symlink("..2026_12_04", n.sa+"/..data"))
	must(t, os.Symlink("..data/token", n.sa+"/token"))
	must(t, os.Symlink("..data/ca.crt", n.sa+"/ca.crt"))
	// A binary of some size to copy, so that a kill can land mid-copy.
	plugin, err := os.ReadFile(installer(t))
	must(t, err)
	must(t, os.WriteFile(n.image+"/linkerd-cni", plugin, 0o755))
	must(t, os.WriteFile(n.image+"/proxy-init-cni", plugin, 0o755))
	n.env = []string{
		"CONTAINER_MOUNT_PREFIX=" + n.host, "CONTAINER_CNI_BIN_DIR=" + n.image,
		"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443",
		`CNI_NETWORK_CONFIG={"name":"linkerd-cni","type":"linkerd-cni","kubernetes":{"kubeconfig":"__KUBECONFIG_FILEPATH__"}}`,
	}
	return n
}

func (n *node) command(t *testing.T, env ...string) (*exec.Cmd, *testns.Buffer) {
	cmd := exec.Command(installer(t), "--service-account-dir", n.sa)
	cmd.Env = append(append([]string{}, n.env...), env...)
	stderr := &testns.Buffer{}
	cmd.Stderr = stderr
	return cmd, stderr
}

// waitReady waits for the line the installer logs once installed, with
// its signal handlers set.
func waitReady(t *testing.T, stderr *testns.Buffer) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if strings.Contains(stderr.String(), "installed; watching") {
			return
		}
	}
	t.Fatalf("the installer never got ready:\n%s", stderr)
}

const calico = `{"name":"k8s-pod-network","cniVersion":"0.3.1","plugins":[{"type":"calico"},{"type":"portmap","snat":true}]}`

// snapshot is every file under dir with its mode, content or link.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	s := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			v += " -> " + l
		} else if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			v += " " + string(b)
		}
		s[strings.TrimPrefix(p, dir)] = v
		return nil
	}))
	return s
}

func equalSnapshots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestBadConfigurationRefused: an invalid entry, or a missing setting,
// exits 1 with one line naming it, and the node's files are untouched.
func TestBadConfigurationRefused(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{`CNI_NETWORK_CONFIG={"type":"linkerd-cni",}`, "invalid CNI_NETWORK_CONFIG: not a JSON object"},
		{`CNI_NETWORK_CONFIG={"name":"linkerd-cni"}`, `invalid CNI_NETWORK_CONFIG: needs a \"type\" string`},
		{`KUBERNETES_SERVICE_PORT=`, "invalid KUBERNETES_SERVICE_PORT: not set"},
		{`DEST_CNI_NET_DIR=/missing`, `invalid DEST_CNI_NET_DIR \"` + "/tmp"},
	} {
		n := newNode(t)
		must(t, os.WriteFile(n.net+"/10-calico.conflist", []byte(calico), 0o644))
		before := snapshot(t, n.host)
		cmd, stderr := n.command(t, tc.env)
		err := cmd.Run()
		var ee *exec.ExitError
		if !errorsAs(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s: %v, want exit 1\n%s", tc.env, err, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%s: stderr %q, want one line with %q", tc.env, stderr, tc.want)
		}
		if !equalSnapshots(snapshot(t, n.host), before) {
			t.Errorf("%s: the node's files changed", tc.env)
		}
	}
	// A bad file: named.
	n := newNode(t)
	must(t, os.WriteFile(n.root+"/entry.json", []byte("{"), 0o644))
	cmd, stderr := n.command(t, "CNI_NETWORK_CONFIG=", "CNI_NETWORK_CONFIG_FILE="+n.root+"/entry.json")
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "invalid CNI_NETWORK_CONFIG_FILE "+n.root+"/entry.json") {
		t.Errorf("bad file: %v %s", err, stderr)
	}
}

// TestSIGTERMRemovesEverything: installed, then SIGTERM: exit 0 and the
// node's files exactly as before.
func TestSIGTERMRemovesEverything(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		n := newNode(t)
		must(t, os.WriteFile(n.net+"/10-calico.conflist", []byte(calico), 0o644))
		before := snapshot(t, n.host)
		cmd, stderr := n.command(t)
		must(t, cmd.Start())
		waitReady(t, stderr)
		waitPatched(t, n.net+"/10-calico.conflist")
		if _, err := os.Stat(n.bin + "/proxy-init-cni"); err != nil {
			t.Fatal(err)
		}
		must(t, cmd.Process.Signal(sig))
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v: %v\n%s", sig, err, stderr)
		}
		if after := snapshot(t, n.host); !equalSnapshots(after, before) {
			t.Fatalf("%v: after\n%v\nbefore\n%v", sig, after, before)
		}
	}
}

func waitPatched(t *testing.T, name string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if b, err := os.ReadFile(name); err == nil && bytes.Contains(b, []byte(`"linkerd-cni"`)) {
			return
		}
	}
	t.Fatalf("%s never patched", name)
}

// ours counts our entries in a configuration, failing on invalid JSON.
func ours(t *testing.T, name string, data []byte) int {
	t.Helper()
	var doc struct {
		Type    string `json:"type"`
		Plugins []struct {
			Type string `json:"type"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s is not valid JSON: %v\n%s", name, err, data)
	}
	if strings.HasSuffix(name, ".conflist") && doc.Plugins == nil {
		t.Fatalf("%s has no plugins:\n%s", name, data)
	}
	c := 0
	for _, p := range doc.Plugins {
		if p.Type == "linkerd-cni" {
			c++
		}
	}
	return c
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestFlags: --help exits 0, a bad flag value 1 naming it, before any
// setting is read.
func TestFlags(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--help"}, func(string) string { return "" }, &out); code != 0 || !strings.Contains(out.String(), "--log-level") {
		t.Fatalf("--help: %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"--log-level", "loud"}, func(string) string { return "" }, &out); code != 1 ||
		strings.TrimSpace(out.String()) != `proxy-init-cni-install: invalid value "loud" for --log-level: must be debug, info, warn or error` {
		t.Fatalf("bad level: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"--log-format", "xml"}, func(string) string { return "" }, &out); code != 1 || !strings.Contains(out.String(), `invalid value "xml" for --log-format`) {
		t.Fatalf("bad format: %d %q", code, out.String())
	}
}

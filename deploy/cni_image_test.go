package deploy

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/internal/topology"
)

// TestCNIImage runs the CNI DaemonSet's image (IMAGE-cni:latest, built by
// deploy/image.sh from the working tree) as the chart runs its installer:
// root with no capability, no privilege escalation, read-only root
// filesystem, the node's CNI directories mounted under /host (here
// directories of a temporary tree, never the host's) and a service account
// directory laid out as the kubelet does. The plugin lands on the "node"
// under both names, the conflist gets our entry, the kubeconfig is 0600;
// a token rotation rewrites it; `podman stop` (SIGTERM) exits 0 and leaves
// the tree as it was.
func TestCNIImage(t *testing.T) {
	images(t) // the containers.conf, the sweep
	dir := t.TempDir()
	for _, name := range []string{"proxy-init", "proxy-init-cni", "proxy-init-cni-install"} {
		if _, err := testns.BuildCommand(dir, name); err != nil {
			t.Fatal(err)
		}
	}
	// The repair controller, when `make build` made it: a stand-in binary
	// here (another static file), to check where the image puts it.
	stand, err := os.ReadFile(filepath.Join(dir, "proxy-init"))
	mustDo(t, err)
	mustDo(t, os.WriteFile(filepath.Join(dir, "proxy-init-cni-repair"), stand, 0o755))
	name := "localhost/" + topology.OwnName("cniimage")
	t.Cleanup(func() {
		if out, err := podman("rmi", "-f", name+":nonroot", name+":netadmin", name+"-cni:latest"); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	})
	cmd := exec.Command("./image.sh", dir, name)
	cmd.Env = podmanEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/image.sh: %v\n%s", err, out)
	}
	image := name + "-cni:latest"
	if got := mustPodman(t, "image", "inspect", "--format", "{{.Config.Entrypoint}} {{.Config.User}}", image); got != "[/proxy-init-cni-install] 0:0" {
		t.Fatalf("entrypoint and user: %s", got)
	}

	wantFiles := map[string]string{
		"proxy-init-cni-install":                        "regular",
		"opt/cni/bin/linkerd-cni":                       "regular",
		"opt/cni/bin/proxy-init-cni":                    "link to opt/cni/bin/linkerd-cni", // one file, two names
		"proxy-init-cni-repair":                         "regular",
		"usr/lib/linkerd/linkerd-cni-repair-controller": "symlink to /proxy-init-cni-repair",
	}
	if got := imageFiles(t, image); len(got) != len(wantFiles) {
		t.Errorf("image files %v, want %v", got, wantFiles)
	} else {
		for f, kind := range wantFiles {
			if got[f] != kind {
				t.Errorf("image file %s: %q, want %q (all: %v)", f, got[f], kind, got)
			}
		}
	}

	root := t.TempDir()
	host, sa := filepath.Join(root, "host"), filepath.Join(root, "sa")
	netDir, binDir := filepath.Join(host, "etc/cni/net.d"), filepath.Join(host, "opt/cni/bin")
	for _, d := range []string{netDir, binDir, sa} {
		mustDo(t, os.MkdirAll(d, 0o755))
	}
	rotate(t, sa, "..2026_1", "token-1", "CA-1")
	mustDo(t, os.Symlink("..data/token", filepath.Join(sa, "token")))
	mustDo(t, os.Symlink("..data/ca.crt", filepath.Join(sa, "ca.crt")))
	conflist := `{"cniVersion":"0.3.1","name":"k8s-pod-network","plugins":[{"type":"ptp"}]}` + "\n"
	mustDo(t, os.WriteFile(filepath.Join(netDir, "10-ptp.conflist"), []byte(conflist), 0o644))
	before := tree(t, host)

	ctr := topology.OwnName("cniinstall")
	mustPodman(t, "run", "-d", "--name", ctr, "--network", "none", "--read-only",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", "0:0",
		"-v", netDir+":/host/etc/cni/net.d", "-v", binDir+":/host/opt/cni/bin",
		"-v", sa+":/var/run/secrets/kubernetes.io/serviceaccount:ro",
		"-e", "KUBERNETES_SERVICE_HOST=10.96.0.1", "-e", "KUBERNETES_SERVICE_PORT=443",
		"-e", `CNI_NETWORK_CONFIG={"name":"linkerd-cni","type":"linkerd-cni","kubernetes":{"kubeconfig":"__KUBECONFIG_FILEPATH__"}}`,
		image)
	t.Cleanup(func() { podman("rm", "-f", "-t", "0", ctr) })
	logs := func() string { out, _ := podman("logs", ctr); return out }

	waitUntil(t, "the conflist patched", logs, func() bool {
		b, _ := os.ReadFile(filepath.Join(netDir, "10-ptp.conflist"))
		return bytes.Contains(b, []byte(`"kubeconfig": "/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"`))
	})
	plugin, err := os.ReadFile(filepath.Join(dir, "proxy-init-cni"))
	mustDo(t, err)
	for _, b := range []string{"linkerd-cni", "proxy-init-cni"} {
		got, err := os.ReadFile(filepath.Join(binDir, b))
		if err != nil || !bytes.Equal(got, plugin) {
			t.Fatalf("%s on the node: %v (%d bytes, want the plugin's %d)", b, err, len(got), len(plugin))
		}
	}
	kc := filepath.Join(netDir, "ZZZ-linkerd-cni-kubeconfig")
	fi, err := os.Stat(kc)
	mustDo(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig mode %v", fi.Mode())
	}
	rotate(t, sa, "..2026_2", "token-2", "CA-2")
	waitUntil(t, "the kubeconfig rewritten after the rotation", logs, func() bool {
		b, _ := os.ReadFile(kc)
		return bytes.Contains(b, []byte("token: token-2\n"))
	})

	mustPodman(t, "stop", "-t", "10", ctr)
	if code := mustPodman(t, "inspect", "--format", "{{.State.ExitCode}}", ctr); code != "0" {
		t.Fatalf("exit code %s\n%s", code, logs())
	}
	after := tree(t, host)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("after stop, %s is %q, want %q", k, after[k], v)
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("after stop, %s left behind (%q)", k, v)
		}
	}
}

// rotate swaps a service account directory's ..data to a new directory, as
// the kubelet does.
func rotate(t *testing.T, sa, dir, token, ca string) {
	t.Helper()
	mustDo(t, os.Mkdir(filepath.Join(sa, dir), 0o755))
	mustDo(t, os.WriteFile(filepath.Join(sa, dir, "token"), []byte(token), 0o644))
	mustDo(t, os.WriteFile(filepath.Join(sa, dir, "ca.crt"), []byte(ca), 0o644))
	old, _ := os.Readlink(filepath.Join(sa, "..data"))
	mustDo(t, os.Symlink(dir, filepath.Join(sa, "..data_tmp")))
	mustDo(t, os.Rename(filepath.Join(sa, "..data_tmp"), filepath.Join(sa, "..data")))
	if old != "" {
		mustDo(t, os.RemoveAll(filepath.Join(sa, old)))
	}
}

// tree is every file under dir: mode and content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	s := map[string]string{}
	mustDo(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			v += " " + string(b)
		}
		s[strings.TrimPrefix(p, dir)] = v
		return nil
	}))
	return s
}

func waitUntil(t *testing.T, what string, logs func() string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s; the installer's log:\n%s", what, logs())
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// imageFiles lists an image's files (not directories): regular, a hard
// link (to what) or a symlink (to what).
func imageFiles(t *testing.T, image string) map[string]string {
	t.Helper()
	ctr := mustPodman(t, "create", image)
	defer podman("rm", "-f", ctr)
	cmd := exec.Command("podman", "export", ctr)
	cmd.Env = podmanEnv()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("podman export: %v", err)
	}
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch h.Typeflag {
		case tar.TypeReg:
			files[name] = "regular"
		case tar.TypeLink:
			files[name] = "link to " + strings.TrimPrefix(h.Linkname, "./")
		case tar.TypeSymlink:
			files[name] = "symlink to " + h.Linkname
		}
	}
	return files
}

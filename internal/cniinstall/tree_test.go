package cniinstall

import (
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree is a node's CNI directories and a pod's service account directory
// in a temporary directory: root/host/etc/cni/net.d, root/host/opt/cni/bin,
// root/image/opt/cni/bin (what the image carries) and root/sa, laid out
// as the kubelet lays out a projected volume (..data -> a timestamped
// directory; token and ca.crt -> ..data/...).
type tree struct {
	root, host, net, bin, image, sa string
	env                             map[string]string
	generation                      int
}

func newTree(t *testing.T) *tree {
	t.Helper()
	root := t.TempDir()
	tr := &tree{
		root: root, host: filepath.Join(root, "host"),
		net: filepath.Join(root, "host/etc/cni/net.d"), bin: filepath.Join(root, "host/opt/cni/bin"),
		image: filepath.Join(root, "image/opt/cni/bin"), sa: filepath.Join(root, "sa"),
	}
	for _, d := range []string{tr.net, tr.bin, tr.image, tr.sa} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(tr.image, "linkerd-cni"), []byte("plugin binary\n"), 0o755))
	must(t, os.WriteFile(filepath.Join(tr.image, "proxy-init-cni"), []byte("plugin binary\n"), 0o755))
	tr.rotate(t, "token-1\n", "CA-1\n")
	must(t, os.Symlink("..data/token", filepath.Join(tr.sa, "token")))
	must(t, os.Symlink("..data/ca.crt", filepath.Join(tr.sa, "ca.crt")))
	tr.env = map[string]string{
		"CONTAINER_MOUNT_PREFIX":  tr.host,
		"CONTAINER_CNI_BIN_DIR":   tr.image,
		"KUBERNETES_SERVICE_HOST": "10.96.0.1",
		"KUBERNETES_SERVICE_PORT": "443",
		"CNI_NETWORK_CONFIG":      `{"name": "linkerd-cni", "type": "linkerd-cni", "kubernetes": {"kubeconfig": "__KUBECONFIG_FILEPATH__"}}`,
	}
	return tr
}

// rotate does what the kubelet does to a projected volume: the new files
// in a new directory, a ..data_tmp link to it renamed over ..data, the old
// directory removed.
func (tr *tree) rotate(t *testing.T, token, ca string) {
	t.Helper()
	tr.generation++
	dir := "..2026_12_04_" + strings.Repeat("0", tr.generation)
	must(t, os.Mkdir(filepath.Join(tr.sa, dir), 0o755))
	must(t, os.WriteFile(filepath.Join(tr.sa, dir, "token"), []byte(token), 0o644))
	must(t, os.WriteFile(filepath.Join(tr.sa, dir, "ca.crt"), []byte(ca), 0o644))
	old, _ := os.Readlink(filepath.Join(tr.sa, "..data"))
	must(t, os.Symlink(dir, filepath.Join(tr.sa, "..data_tmp")))
	must(t, os.Rename(filepath.Join(tr.sa, "..data_tmp"), filepath.Join(tr.sa, "..data")))
	if old != "" {
		must(t, os.RemoveAll(filepath.Join(tr.sa, old)))
	}
}

func (tr *tree) getenv(k string) string { return tr.env[k] }

func (tr *tree) config(t *testing.T) Config {
	t.Helper()
	c, err := Load(tr.getenv, tr.sa)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// write writes a file of the net directory as a pod network does (by
// rename, as most do; the test of a plain write is separate).
func (tr *tree) write(t *testing.T, name, content string) {
	t.Helper()
	tmp := filepath.Join(tr.net, ".tmp-"+name)
	must(t, os.WriteFile(tmp, []byte(content), 0o644))
	must(t, os.Rename(tmp, filepath.Join(tr.net, name)))
}

func (tr *tree) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tr.net, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snapshot is every file under dir: content, mode and link target.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	s := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			v += " -> " + l
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			v += " " + string(b)
		}
		s[strings.TrimPrefix(p, dir)] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sameSnapshot(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s: %q", what, k, v)
		}
	}
}

// debugLogger logs every level into w, for a test to read.
func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

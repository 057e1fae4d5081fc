package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Versions of what Binaries builds; the ldflags make the binaries report
// v1.37.2 (without them they say v0.0.0-master).
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.7.3"
	HelmVersion       = "v4.3.2"
	kubeLDFlags       = "-s -w -X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
)

// helmLDFlags make helm report its release (v4.3.2, not just "v4.3").
const helmLDFlags = "-s -w -X helm.sh/helm/v4/internal/version.version=" + HelmVersion

// kubeCommands are built from k8s.io/kubernetes/cmd/<name>.
var kubeCommands = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl"}

// Bins are the paths of the built binaries.
type Bins struct {
	Dir                                                       string
	APIServer, ControllerManager, Scheduler, Kubelet, Kubectl string
	Etcd                                                      string
	// Helm is empty when the helm module (tools/helm) is absent.
	Helm string
}

func binsIn(dir string) *Bins {
	b := &Bins{Dir: dir,
		APIServer: filepath.Join(dir, "kube-apiserver"), ControllerManager: filepath.Join(dir, "kube-controller-manager"),
		Scheduler: filepath.Join(dir, "kube-scheduler"), Kubelet: filepath.Join(dir, "kubelet"),
		Kubectl: filepath.Join(dir, "kubectl"), Etcd: filepath.Join(dir, "etcd")}
	if _, err := os.Stat(filepath.Join(dir, "helm")); err == nil {
		b.Helm = filepath.Join(dir, "helm")
	}
	return b
}

// Binaries returns the cached binaries, building them first when the cache
// has none for the current key (go.mod/go.sum of the modules, the Go
// version, the flags). A cold build takes ~8 min on 2 cores; progress goes
// to log. Concurrent callers wait on a lock instead of building twice.
//
// $PROXY_INIT_E2E_BINS names a directory of prebuilt binaries to use
// instead (same names), bypassing the cache.
func Binaries(ctx context.Context, log io.Writer) (*Bins, error) {
	if d := os.Getenv("PROXY_INIT_E2E_BINS"); d != "" {
		return binsIn(d), nil
	}
	mod, err := ModuleDir()
	if err != nil {
		return nil, err
	}
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	key, err := buildKey(ctx, mod)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, key)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return binsIn(dir), nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("create the binary cache %s: %w", cache, err)
	}
	lock, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock the binary cache: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return nil, fmt.Errorf("lock the binary cache: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return binsIn(dir), nil // another process built it meanwhile
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	fmt.Fprintf(log, "cluster: building Kubernetes %s and etcd %s into %s (minutes when the Go build cache is cold)\n", KubernetesVersion, EtcdVersion, dir)
	for _, name := range kubeCommands {
		if err := goBuild(ctx, log, mod, filepath.Join(tmp, name), kubeLDFlags, "k8s.io/kubernetes/cmd/"+name); err != nil {
			return nil, err
		}
	}
	if err := goBuild(ctx, log, mod, filepath.Join(tmp, "etcd"), "-s -w", modulePath+"/tools/etcd"); err != nil {
		return nil, err
	}
	if helm := filepath.Join(mod, "tools", "helm"); fileExists(filepath.Join(helm, "go.mod")) {
		if err := goBuild(ctx, log, helm, filepath.Join(tmp, "helm"), helmLDFlags, "helm.sh/helm/v4/cmd/helm"); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(key+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("mark the build complete: %w", err)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("move the build into %s: %w", dir, err)
	}
	return binsIn(dir), nil
}

func goBin() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

func goBuild(ctx context.Context, log io.Writer, dir, out, ldflags, pkg string) error {
	fmt.Fprintf(log, "cluster: go build %s\n", pkg)
	cmd := exec.CommandContext(ctx, goBin(), "build", "-trimpath", "-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s in %s: %w", pkg, dir, err)
	}
	return nil
}

// buildKey hashes what decides the binaries' content.
func buildKey(ctx context.Context, mod string) (string, error) {
	h := sha256.New()
	out, err := exec.CommandContext(ctx, goBin(), "env", "GOVERSION", "GOARCH").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	h.Write(out)
	fmt.Fprintln(h, kubeLDFlags, helmLDFlags, strings.Join(kubeCommands, ","))
	for _, f := range []string{"go.mod", "go.sum", "tools/etcd/main.go", "tools/helm/go.mod", "tools/helm/go.sum"} {
		b, _ := os.ReadFile(filepath.Join(mod, f)) // an absent helm module hashes as empty
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return KubernetesVersion + "-" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

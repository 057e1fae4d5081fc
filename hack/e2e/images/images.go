// Package images builds, offline, the images the real-cluster scenarios run
// and packs them into one docker-archive for cluster.Options.Images: our
// proxy-init images and the CNI DaemonSet's image (deploy/image.sh, as
// `make image` builds them), a pause image for containerd's sandbox_image,
// the stand-in proxy and the plain app (internal/e2eimage in the root
// module). Every image is FROM scratch,
// built with --network none --pull=never; pods use them with
// imagePullPolicy: Never.
package images

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/proxy-init/netlink-native/hack/e2e/cluster"
)

// The image references, as pods name them.
const (
	ProxyInit         = "localhost/proxy-init-e2e/proxy-init:nonroot"
	ProxyInitNetAdmin = "localhost/proxy-init-e2e/proxy-init:netadmin"
	Pause             = "localhost/proxy-init-e2e/pause:v1"
	Standin           = "localhost/proxy-init-e2e/standin:v1"
	App               = "localhost/proxy-init-e2e/app:v1"
	// CNI is the CNI DaemonSet's image (installer, plugin, repair
	// controller), as deploy/image.sh names it after proxyInitName.
	CNI           = proxyInitName + "-cni:latest"
	CNIName       = proxyInitName + "-cni"
	CNIVersion    = "latest"
	proxyInitName = "localhost/proxy-init-e2e/proxy-init"
)

// ProxyUID is the stand-in proxy's uid, Linkerd's default proxy uid.
const ProxyUID = 2102

// Built is the result of Build.
type Built struct {
	// Archive holds every image (podman save --format docker-archive -m).
	Archive string
	// Bin is the directory of the static binaries: proxy-init,
	// proxy-init-cni, proxy-init-cni-install, proxy-init-cni-repair, pause,
	// standin, app.
	Bin string
	// Refs are the images in Archive.
	Refs []string
}

// CNIPlugin is the path of the proxy-init-cni binary.
func (b *Built) CNIPlugin() string { return filepath.Join(b.Bin, "proxy-init-cni") }

// RepairBinary is the path of the proxy-init-cni-repair binary.
func (b *Built) RepairBinary() string { return filepath.Join(b.Bin, "proxy-init-cni-repair") }

// ProxyInitBinary is the path of the proxy-init binary.
func (b *Built) ProxyInitBinary() string { return filepath.Join(b.Bin, "proxy-init") }

// testImages are the images built here from internal/e2eimage: name,
// entrypoint binary, user.
var testImages = []struct{ ref, bin, user string }{
	{Pause, "pause", "65534:65534"},
	{Standin, "standin", fmt.Sprintf("%d:%d", ProxyUID, ProxyUID)},
	{App, "app", "1000:1000"},
}

// Build builds the binaries from the repository root and the images, into
// dir. Progress goes to log.
func Build(ctx context.Context, dir string, log io.Writer) (*Built, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	b := &Built{Archive: filepath.Join(dir, "images.tar"), Bin: filepath.Join(dir, "bin")}
	if err := os.MkdirAll(b.Bin, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", b.Bin, err)
	}
	fmt.Fprintf(log, "images: building proxy-init, proxy-init-cni and the test programs\n")
	gobin := "go"
	if g := os.Getenv("GO"); g != "" {
		gobin = g
	}
	if err := run(ctx, log, root, append(os.Environ(), "CGO_ENABLED=0"), gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", b.Bin+"/",
		"./cmd/proxy-init", "./cmd/proxy-init-cni", "./cmd/proxy-init-cni-install", "./cmd/proxy-init-cni-repair", "./internal/e2eimage/pause", "./internal/e2eimage/standin", "./internal/e2eimage/app"); err != nil {
		return nil, err
	}
	if err := run(ctx, log, root, nil, filepath.Join(root, "deploy", "image.sh"), b.Bin, proxyInitName); err != nil {
		return nil, err
	}
	// image.sh builds the CNI image too: bin holds the plugin, the
	// installer and the repair controller.
	b.Refs = []string{ProxyInit, ProxyInitNetAdmin, CNI}
	for _, img := range testImages {
		bctx := filepath.Join(dir, "ctx-"+img.bin)
		if err := os.MkdirAll(bctx, 0o755); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(filepath.Join(b.Bin, img.bin))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(bctx, img.bin), data, 0o755); err != nil {
			return nil, err
		}
		cf := fmt.Sprintf("FROM scratch\nCOPY %s /%s\nUSER %s\nENTRYPOINT [\"/%s\"]\n", img.bin, img.bin, img.user, img.bin)
		if err := os.WriteFile(filepath.Join(bctx, "Containerfile"), []byte(cf), 0o644); err != nil {
			return nil, err
		}
		old := inspectID(ctx, img.ref)
		if err := run(ctx, log, bctx, nil, "podman", "build", "--quiet", "--layers=false", "--network", "none", "--pull=never",
			"-f", "Containerfile", "-t", img.ref, "."); err != nil {
			return nil, err
		}
		// As deploy/image.sh: the image this one replaces goes, or every run
		// would leave an untagged image behind.
		if newID := inspectID(ctx, img.ref); old != "" && old != newID {
			_ = exec.CommandContext(ctx, "podman", "rmi", old).Run()
		}
		b.Refs = append(b.Refs, img.ref)
	}
	_ = os.Remove(b.Archive)
	if err := run(ctx, log, dir, nil, "podman", append([]string{"save", "--quiet", "--format", "docker-archive", "-m", "-o", b.Archive}, b.Refs...)...); err != nil {
		return nil, err
	}
	return b, nil
}

func inspectID(ctx context.Context, ref string) string {
	out, err := exec.CommandContext(ctx, "podman", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func run(ctx context.Context, log io.Writer, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if len(out) > 0 && !strings.Contains(name, "podman") {
		log.Write(out)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/internal/topology"
)

// The images of this test process, built once from the working tree by
// deploy/image.sh, the script `make image` runs, and removed at exit.
var (
	imageName = topology.OwnName("image")
	nonroot   = "localhost/" + imageName + ":nonroot"
	netadmin  = "localhost/" + imageName + ":netadmin"

	buildOnce sync.Once
	buildErr  error
	built     bool
	// confPath is a containers.conf for every podman call: see writeConf.
	confPath string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if built {
		if out, err := podman("rmi", "-f", nonroot, netadmin); err != nil {
			fmt.Fprintf(os.Stderr, "remove test images: %v\n%s", err, out)
		}
	}
	if confPath != "" {
		os.RemoveAll(filepath.Dir(confPath))
	}
	os.Exit(code)
}

// requireRuntime skips without root or without the container tools, except
// under CI=true, where .ci/run installs them and a skip would hide a
// failure.
func requireRuntime(t *testing.T) {
	t.Helper()
	testns.RequireRoot(t)
	for _, tool := range []string{"podman", "runc", "setcap", "getcap"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing; .ci/run must install it", tool)
			}
			t.Skipf("needs %s", tool)
		}
	}
}

// images builds the two images once, after sweeping what killed runs of
// this test left behind.
func images(t *testing.T) {
	t.Helper()
	requireRuntime(t)
	buildOnce.Do(func() {
		if buildErr = writeConf(); buildErr != nil {
			return
		}
		sweep(t)
		dir, err := os.MkdirTemp("", "proxy-init-image-")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		if _, buildErr = testns.BuildProxyInit(dir); buildErr != nil {
			return
		}
		cmd := exec.Command("./image.sh", dir, "localhost/"+imageName)
		cmd.Env = podmanEnv()
		out, err := cmd.CombinedOutput()
		built = true // partly, perhaps: remove whatever exists
		if err != nil {
			buildErr = fmt.Errorf("deploy/image.sh: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// writeConf writes the containers.conf podman runs with here. Root on these
// machines lacks CAP_SYS_RESOURCE, and podman's default rlimits (nofile
// 1048576) then fail every container start with "error setting rlimit";
// an empty default_ulimits keeps the limits the test has. Where root is
// whole it changes nothing that matters to these tests.
func writeConf() error {
	dir, err := os.MkdirTemp("", "proxy-init-podman-")
	if err != nil {
		return err
	}
	confPath = filepath.Join(dir, "containers.conf")
	return os.WriteFile(confPath, []byte("[containers]\ndefault_ulimits = []\n"), 0o644)
}

func podmanEnv() []string {
	return append(os.Environ(), "CONTAINERS_CONF="+confPath)
}

// podman runs podman and returns its combined output.
func podman(args ...string) (string, error) {
	cmd := exec.Command("podman", args...)
	cmd.Env = podmanEnv()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("podman %s: %w", strings.Join(args, " "), err)
	}
	return buf.String(), err
}

// mustPodman fails the test if podman fails.
func mustPodman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := podman(args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

// sweep removes the pods, containers and images of earlier test processes
// that died before their cleanup (go test -timeout, kill): they are named
// with topology.OwnName, "pit-<pid>-...", and topology.Stale knows a
// dead owner.
func sweep(t *testing.T) {
	for _, kind := range [][]string{
		{"pod", "ps", "--format", "{{.Name}}"},
		{"ps", "-a", "--format", "{{.Names}}"},
		{"images", "--format", "{{.Repository}}:{{.Tag}}"},
	} {
		out, err := podman(kind...)
		if err != nil {
			t.Logf("sweep: %v\n%s", err, out)
			continue
		}
		for _, name := range strings.Fields(out) {
			if !topology.Stale(strings.TrimPrefix(name, "localhost/")) {
				continue
			}
			rm := map[string][]string{"pod": {"pod", "rm", "-f"}, "ps": {"rm", "-f"}, "images": {"rmi", "-f"}}[kind[0]]
			if out, err := podman(append(rm, name)...); err != nil {
				t.Logf("sweep %s: %v\n%s", name, err, out)
			}
		}
	}
}

// TestImageRebuildLeavesNoUntaggedImages: deploy/image.sh run again over
// the same names (every `make image`) removes the images it replaced,
// rather than leaving them untagged in the store.
func TestImageRebuildLeavesNoUntaggedImages(t *testing.T) {
	images(t)
	dir := t.TempDir()
	if _, err := testns.BuildProxyInit(dir); err != nil {
		t.Fatal(err)
	}
	name := "localhost/" + topology.OwnName("rebuild")
	t.Cleanup(func() {
		if out, err := podman("rmi", "-f", name+":nonroot", name+":netadmin"); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	})
	build := func() []string {
		cmd := exec.Command("./image.sh", dir, name)
		cmd.Env = podmanEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("deploy/image.sh: %v\n%s", err, out)
		}
		return []string{
			mustPodman(t, "image", "inspect", "--format", "{{.Id}}", name+":nonroot"),
			mustPodman(t, "image", "inspect", "--format", "{{.Id}}", name+":netadmin"),
		}
	}
	first := build()
	// A new binary, as after a commit (bytes after an ELF file's end
	// change nothing it does).
	f, err := os.OpenFile(filepath.Join(dir, "proxy-init"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write([]byte{0})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	second := build()
	for i, id := range first {
		if id == second[i] {
			t.Fatalf("the rebuild made the same image %s: nothing to check", id)
		}
		if out, err := podman("image", "exists", id); err == nil {
			t.Errorf("the replaced image %s is still in the store%s", id, out)
		}
	}
}

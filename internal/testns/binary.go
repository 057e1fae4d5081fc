package testns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// module is the root module, whose cmd/proxy-init BuildProxyInit builds.
const module = "github.com/proxy-init/netlink-native"

// BuildProxyInit builds cmd/proxy-init from the working tree into dir as
// `make build` does (static, stripped: the chroot test runs it alone) and
// returns its path, so that no test runs a stale bin/proxy-init.
func BuildProxyInit(dir string) (string, error) { return BuildCommand(dir, "proxy-init") }

// BuildCommand builds cmd/NAME of this module into dir/NAME the same way.
// It builds inside the root module's directory, so that a test of another
// module of this repository (hack/, which reaches the root through a
// replace) builds it with the root's own go.mod and go.sum.
func BuildCommand(dir, name string) (string, error) {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("find the directory of module %s: %w", module, err)
	}
	bin, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/"+name)
	cmd.Dir = strings.TrimSpace(string(root))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", name, err, out)
	}
	return bin, nil
}

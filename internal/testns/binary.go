package testns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// BuildProxyInit builds cmd/proxy-init from the working tree into dir as
// `make build` does (static, stripped: the chroot test runs it alone) and
// returns its path, so that no test runs a stale bin/proxy-init.
func BuildProxyInit(dir string) (string, error) { return BuildCommand(dir, "proxy-init") }

// BuildCommand builds cmd/NAME of this module into dir/NAME the same way.
func BuildCommand(dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "github.com/proxy-init/netlink-native/cmd/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", name, err, out)
	}
	return bin, nil
}

package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// modulePath is this module's path, which ModuleDir looks for in go.mod.
const modulePath = "github.com/proxy-init/netlink-native/hack/e2e"

// ModuleDir returns the directory of the hack/e2e module, found from the
// working directory upwards (a test runs in its package's directory), or
// from $PROXY_INIT_E2E_MODULE.
func ModuleDir() (string, error) {
	if d := os.Getenv("PROXY_INIT_E2E_MODULE"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the hack/e2e module: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		for _, cand := range []string{d, filepath.Join(d, "hack", "e2e")} {
			b, err := os.ReadFile(filepath.Join(cand, "go.mod"))
			if err == nil && strings.HasPrefix(string(b), "module "+modulePath+"\n") {
				return cand, nil
			}
		}
		if d == filepath.Dir(d) {
			return "", errors.New("find the hack/e2e module: no go.mod of " + modulePath + " above " + dir + " (set PROXY_INIT_E2E_MODULE)")
		}
	}
}

// RepoRoot returns the root of the repository (the product's module), two
// levels above the hack/e2e module.
func RepoRoot() (string, error) {
	m, err := ModuleDir()
	if err != nil {
		return "", err
	}
	return filepath.Dir(filepath.Dir(m)), nil
}

// CacheDir is where Binaries keeps its builds: $PROXY_INIT_E2E_CACHE, else
// $XDG_CACHE_HOME/proxy-init-e2e, else ~/.cache/proxy-init-e2e. Each build
// lives in a subdirectory named after a key of the versions and flags, so a
// version change builds anew (the Go build cache makes that seconds when
// only our code changed).
func CacheDir() (string, error) {
	if d := os.Getenv("PROXY_INIT_E2E_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache directory: %w", err)
	}
	return filepath.Join(d, "proxy-init-e2e"), nil
}

// RunBase is the parent of every run directory: short, because unix socket
// paths (containerd's) are limited to 107 bytes.
func RunBase() string {
	if d := os.Getenv("PROXY_INIT_E2E_RUN"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "proxy-init-e2e")
}

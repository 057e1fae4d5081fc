package cniinstall

import (
	"fmt"
	"os"
	"path/filepath"
)

// resolve follows name's symlinks to the file they name, so that a linked
// conflist is patched where it lives and the link stays a link (upstream
// renames a file over the link: linkerd2-proxy-init#635). The links were
// made on the host, so an absolute target is a host path, found below the
// mount prefix here.
func resolve(name, mountPrefix string) (string, error) {
	for hops := 0; hops < 16; hops++ {
		fi, err := os.Lstat(name)
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return name, nil
		}
		target, err := os.Readlink(name)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			name = filepath.Join(mountPrefix, target)
		} else {
			name = filepath.Join(filepath.Dir(name), target)
		}
	}
	return "", fmt.Errorf("resolve %s: too many levels of symbolic links", name)
}

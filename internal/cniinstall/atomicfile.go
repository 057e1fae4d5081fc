package cniinstall

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempSuffix marks our temporary files. With the leading dot the name
// ends neither in .conf, .conflist nor .json, so a runtime listing the net
// directory never loads one, even one left behind by a killed process
// (removeStaleTemps clears those at the next start).
const tempSuffix = ".proxy-init-cni-install.tmp"

func tempName(target string) string {
	return filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+tempSuffix)
}

// errChanged: the target changed between our read and our rename; the
// caller reads it again rather than overwrite the newer content.
var errChanged = errors.New("changed while being rewritten")

// writeAtomic writes data to target by a temporary file in the same
// directory, synced, then renamed over it: a reader sees the old file or
// the new one, never a part. If expect is not nil, target must still hold
// exactly expect just before the rename (nil expect: anything).
func writeAtomic(target string, data []byte, mode fs.FileMode, expect []byte) error {
	return writeAtomicFrom(target, bytes.NewReader(data), mode, expect)
}

func writeAtomicFrom(target string, r io.Reader, mode fs.FileMode, expect []byte) error {
	tmp := tempName(target)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Chmod(mode) // not the umask's
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && expect != nil {
		if cur, rerr := os.ReadFile(target); rerr != nil || !bytes.Equal(cur, expect) {
			err = errChanged
		}
	}
	if err == nil {
		err = os.Rename(tmp, target)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", target, err)
	}
	return nil
}

// removeStaleTemps removes the temporary files a killed installer left in
// dir.
func removeStaleTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.HasSuffix(n, tempSuffix) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

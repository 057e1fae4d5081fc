package cniinstall

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// installBinaries copies every regular file of cfg.ContainerBinDir to the
// host's bin directory (as upstream: the plugin, under each name the
// image carries it), skipping a file already there byte for byte, and
// returns the host paths.
func installBinaries(cfg *Config) ([]string, error) {
	entries, err := os.ReadDir(cfg.ContainerBinDir)
	if err != nil {
		return nil, fmt.Errorf("list the binaries to install: %w", err)
	}
	var done []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		src := filepath.Join(cfg.ContainerBinDir, e.Name())
		dst := filepath.Join(cfg.HostBinDir, e.Name())
		if err := copyBinary(src, dst); err != nil {
			return done, err
		}
		done = append(done, dst)
	}
	return done, nil
}

func copyBinary(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("install %s: %w", src, err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("install %s: %w", src, err)
	}
	if same, _ := sameContent(in, fi.Size(), dst); same {
		return nil
	}
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("install %s: %w", src, err)
	}
	return writeAtomicFrom(dst, in, fi.Mode().Perm(), nil)
}

// sameContent compares an open source with the file at dst, a block at a
// time: the plugin is ~15 MB, and reading both whole would make that the
// installer's peak memory.
func sameContent(src *os.File, size int64, dst string) (bool, error) {
	fi, err := os.Stat(dst)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false, err
	}
	d, err := os.Open(dst)
	if err != nil {
		return false, err
	}
	defer d.Close()
	a, b := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		n, errA := io.ReadFull(src, a)
		m, errB := io.ReadFull(d, b)
		if n != m || !bytes.Equal(a[:n], b[:m]) {
			return false, nil
		}
		if errA == io.EOF || errA == io.ErrUnexpectedEOF {
			return errB == io.EOF || errB == io.ErrUnexpectedEOF, nil
		}
		if errA != nil {
			return false, errA
		}
		if errB != nil {
			return false, errB
		}
	}
}

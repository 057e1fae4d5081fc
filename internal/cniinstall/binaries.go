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

// sameContent compares an open source with the file at dst.
func sameContent(src *os.File, size int64, dst string) (bool, error) {
	fi, err := os.Stat(dst)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false, err
	}
	a, err := io.ReadAll(src)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(dst)
	return err == nil && bytes.Equal(a, b), err
}

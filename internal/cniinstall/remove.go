package cniinstall

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Remove undoes the installation: our entry out of every conflist that
// held it (the file's previous bytes when it still holds exactly what we
// wrote), then the kubeconfig, then the binaries, each removal as atomic
// as a write. It tries everything and returns every failure.
func (in *Installer) Remove() error {
	var errs []error
	for target, rec := range in.patched {
		if err := in.unpatch(target, rec); err != nil {
			errs = append(errs, err)
		}
	}
	if in.wroteKubeconfig {
		if err := removeFile(in.cfg.Kubeconfig); err != nil {
			errs = append(errs, err)
		} else {
			in.log.Info("removed kubeconfig", "file", in.cfg.Kubeconfig)
		}
	}
	for _, b := range in.binaries {
		if err := removeFile(b); err != nil {
			errs = append(errs, err)
		}
	}
	if len(in.binaries) > 0 {
		in.log.Info("removed binaries", "dir", in.cfg.HostBinDir, "files", len(in.binaries))
	}
	return errors.Join(errs...)
}

func (in *Installer) unpatch(target string, rec *patchRecord) error {
	for try := 0; try < 5; try++ {
		cur, err := os.ReadFile(target)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("remove our entry from %s: %w", target, err)
		}
		if rec.written != nil && bytes.Equal(cur, rec.written) {
			err = in.restore(target, rec, cur)
		} else {
			var out []byte
			out, err = unpatchList(cur, in.cfg.EntryType)
			if isMalformed(err) {
				in.log.Warn("left a malformed CNI configuration alone", "file", target, "error", err.Error())
				return nil
			}
			if err == nil && out != nil {
				err = writeAtomic(target, out, rec.mode, cur)
				if err == nil {
					in.log.Info("removed our entry", "file", target)
				}
			}
		}
		if !errors.Is(err, errChanged) {
			return err
		}
	}
	return fmt.Errorf("remove our entry from %s: it keeps changing", target)
}

// restore puts the bytes back that the file held before we patched it,
// and a .conf we upgraded back to a .conf, unless the pod network wrote a
// new .conf meanwhile (then the list just loses our entry).
func (in *Installer) restore(target string, rec *patchRecord, cur []byte) error {
	if rec.fromConf == "" {
		if err := writeAtomic(target, rec.original, rec.mode, cur); err != nil {
			return err
		}
		in.log.Info("restored", "file", target)
		return nil
	}
	if _, err := os.Lstat(rec.fromConf); err == nil {
		out, err := unpatchList(cur, in.cfg.EntryType)
		if err != nil || out == nil {
			return err
		}
		return writeAtomic(target, out, rec.mode, cur)
	}
	if err := writeAtomic(rec.fromConf, rec.original, rec.mode, nil); err != nil {
		return err
	}
	if err := removeFile(target); err != nil {
		return err
	}
	in.log.Info("restored", "file", rec.fromConf, "removed", target)
	return nil
}

// removeFile unlinks name (an unlink is atomic); gone already is fine.
func removeFile(name string) error {
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

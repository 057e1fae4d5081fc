package cniinstall

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Installer keeps the node's files in place. It is used from one
// goroutine (Run's loop).
type Installer struct {
	cfg Config
	log *slog.Logger

	binaries []string
	// wroteKubeconfig: the kubeconfig is ours to remove.
	wroteKubeconfig bool
	// patched: the conflists holding our entry, by the path of the file
	// (a link's target), with what we wrote, for Remove.
	patched map[string]*patchRecord
	// malformed: the files we left alone, by path, and the hash of the
	// content we logged, so that each is logged once (again if it changes).
	malformed map[string][32]byte
	// ready, when set, is closed once Run has installed (tests wait on it).
	ready chan<- struct{}
}

type patchRecord struct {
	// original is the file's content before our write, and written ours:
	// while the file still holds written, Remove puts original back byte
	// for byte. Both nil when the entry was there when we found the file.
	original, written []byte
	mode              fs.FileMode
	// fromConf is the .conf we upgraded into this conflist.
	fromConf string
}

// New returns an installer for cfg, logging to log.
func New(cfg Config, log *slog.Logger) *Installer {
	return &Installer{cfg: cfg, log: log, patched: map[string]*patchRecord{}, malformed: map[string][32]byte{}}
}

// Install does the first installation: it reads the token and the CA
// (failing before any write if it cannot), removes what a killed
// predecessor left half-done, copies the binaries, writes the kubeconfig
// and patches every configuration in the net directory.
func (in *Installer) Install() error {
	kc, err := renderKubeconfig(&in.cfg)
	if err != nil {
		return err
	}
	for _, dir := range []string{in.cfg.HostNetDir, in.cfg.HostBinDir} {
		if err := removeStaleTemps(dir); err != nil {
			return fmt.Errorf("remove stale temporary files: %w", err)
		}
	}
	bins, err := installBinaries(&in.cfg)
	in.binaries = bins
	if err != nil {
		return err
	}
	in.log.Info("installed binaries", "dir", in.cfg.HostBinDir, "files", len(bins))
	if err := in.writeKubeconfig(kc); err != nil {
		return err
	}
	return in.ReconcileAll()
}

// RefreshKubeconfig rewrites the kubeconfig when the token or CA changed
// (the kubelet's ..data swap), or when the file is gone.
func (in *Installer) RefreshKubeconfig() error {
	kc, err := renderKubeconfig(&in.cfg)
	if err != nil {
		return err
	}
	if cur, err := os.ReadFile(in.cfg.Kubeconfig); err == nil && bytes.Equal(cur, kc) {
		in.wroteKubeconfig = true
		return nil
	}
	return in.writeKubeconfig(kc)
}

func (in *Installer) writeKubeconfig(kc []byte) error {
	if err := writeAtomic(in.cfg.Kubeconfig, kc, in.cfg.KubeconfigMode, nil); err != nil {
		return fmt.Errorf("write the kubeconfig: %w", err)
	}
	in.wroteKubeconfig = true
	in.log.Info("wrote kubeconfig", "file", in.cfg.Kubeconfig, "server", in.cfg.Server)
	return nil
}

// isConfigName: the files of the net directory we patch, as upstream, but
// not hidden ones: those are a writer's temporary files (".x.conflist"
// being written, then renamed), which we would read half-written and
// patch under the writer's feet.
func isConfigName(name string) bool {
	return !strings.HasPrefix(name, ".") && (strings.HasSuffix(name, ".conflist") || strings.HasSuffix(name, ".conf"))
}

// ReconcileAll patches every configuration in the net directory that
// lacks our entry. A malformed file is logged and skipped; the others are
// still served. The first I/O error is returned after all were tried.
func (in *Installer) ReconcileAll() error {
	entries, err := os.ReadDir(in.cfg.HostNetDir)
	if err != nil {
		return fmt.Errorf("list %s: %w", in.cfg.HostNetDir, err)
	}
	var first error
	for _, e := range entries {
		if !isConfigName(e.Name()) || e.IsDir() {
			continue
		}
		if err := in.reconcile(filepath.Join(in.cfg.HostNetDir, e.Name())); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// reconcile patches one file; it retries when the file changes under it.
func (in *Installer) reconcile(name string) error {
	var err error
	for try := 0; try < 5; try++ {
		if err = in.reconcileOnce(name); !errors.Is(err, errChanged) {
			return err
		}
	}
	return err
}

func (in *Installer) reconcileOnce(name string) error {
	target, err := resolve(name, in.cfg.MountPrefix)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(name); lerr == nil {
			// A link whose file this container cannot reach: its
			// directory is not mounted (or the link dangles).
			in.noteMalformed(name, []byte("link"), &MalformedError{Reason: "a symlink to a file not reachable in this container (mount its directory under " + in.cfg.MountPrefix + ")", Err: err})
		}
		return nil // removed meanwhile: nothing to patch
	}
	if err != nil {
		return fmt.Errorf("resolve %s: %w", name, err)
	}
	fi, err := os.Stat(target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("patch %s: %w", name, err)
	}
	data, err := os.ReadFile(target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("patch %s: %w", name, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		// Being written in place (created, not yet filled): its write
		// event brings us back. Not worth a warning.
		in.log.Debug("empty CNI configuration, waiting for its content", "file", name)
		return nil
	}
	conf := strings.HasSuffix(name, ".conf")
	var out []byte
	if conf {
		out, err = upgradeConf(data, in.cfg.Entry, in.cfg.EntryType)
	} else {
		out, err = patchList(data, in.cfg.Entry, in.cfg.EntryType)
	}
	if isMalformed(err) {
		in.noteMalformed(name, data, err)
		return nil
	}
	if err != nil {
		return err
	}
	delete(in.malformed, name)
	if out == nil { // already holds our entry, last
		if _, ok := in.patched[target]; !ok {
			in.patched[target] = &patchRecord{mode: fi.Mode().Perm()}
			in.log.Info("entry already in place", "file", name)
		}
		return nil
	}
	if !conf {
		if err := writeAtomic(target, out, fi.Mode().Perm(), data); err != nil {
			return err
		}
		in.patched[target] = &patchRecord{original: data, written: out, mode: fi.Mode().Perm()}
		in.log.Info("patched", "file", name, "target", target)
		return nil
	}
	// A .conf becomes a .conflist (the runtime reads a list only from a
	// .conflist), written next to the name the runtime lists, and the
	// .conf goes. Between the two steps both exist and the runtime takes
	// the .conf (it sorts first): a killed installer leaves an unpatched
	// node, never a broken one, and the next start finishes the job.
	list := name + "list"
	if err := writeAtomic(list, out, fi.Mode().Perm(), nil); err != nil {
		return err
	}
	if cur, err := os.ReadFile(target); err != nil || !bytes.Equal(cur, data) {
		return errChanged // the pod network rewrote its .conf: do it again
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s after upgrading it to %s: %w", name, list, err)
	}
	in.patched[list] = &patchRecord{original: data, written: out, mode: fi.Mode().Perm(), fromConf: name}
	in.log.Info("upgraded to a conflist and patched", "file", name, "conflist", list)
	return nil
}

// noteMalformed logs a file we leave alone, once per content.
func (in *Installer) noteMalformed(name string, data []byte, err error) {
	sum := sha256.Sum256(data)
	if prev, ok := in.malformed[name]; ok && prev == sum {
		return
	}
	in.malformed[name] = sum
	in.log.Warn("left a malformed CNI configuration alone", "file", name, "error", err.Error())
}

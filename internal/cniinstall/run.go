package cniinstall

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// Run installs, then keeps the installation in place until ctx is done:
// inotify watches on the net directory (a conflist rewritten by the pod
// network, or one that appears later, is patched again at once) and on the
// service account directory (the kubelet's ..data swap: a new token, a new
// kubeconfig). It does not remove anything: call Remove after it returns,
// whatever it returned.
//
// The watches are set before the first installation, so a file written
// while it runs is not missed.
func (in *Installer) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("start watching files: %w", err)
	}
	defer w.Close()
	for _, dir := range []string{in.cfg.HostNetDir, in.cfg.ServiceAccountDir} {
		if err := w.Add(dir); err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
	}
	if err := in.Install(); err != nil {
		return err
	}
	in.log.Info("installed; watching", "net-dir", in.cfg.HostNetDir, "service-account-dir", in.cfg.ServiceAccountDir)
	if in.ready != nil {
		close(in.ready)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("the file watcher stopped")
			}
			// Take every event already queued, so that a burst (a pod
			// network writing several files) costs one pass.
			conf, token := in.classify(ev)
		drain:
			for {
				select {
				case ev, ok := <-w.Events:
					if !ok {
						break drain
					}
					c, t := in.classify(ev)
					conf, token = conf || c, token || t
				default:
					break drain
				}
			}
			in.handle(conf, token)
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("the file watcher stopped")
			}
			// An overflowed queue lost events: look at everything.
			in.log.Warn("file watch error; checking every file", "error", err.Error())
			in.handle(true, true)
		}
	}
}

// classify says what an event calls for: a pass over the net directory,
// or a new kubeconfig.
func (in *Installer) classify(ev fsnotify.Event) (conf, token bool) {
	in.log.Debug("file event", "name", ev.Name, "op", ev.Op.String())
	dir, base := filepath.Dir(ev.Name), filepath.Base(ev.Name)
	switch {
	case dir == filepath.Clean(in.cfg.ServiceAccountDir):
		// The kubelet writes a new timestamped directory, points ..data_tmp
		// at it and renames that over ..data: one event names ..data.
		return false, base == "..data"
	case strings.HasSuffix(base, tempSuffix):
		return false, false // our own temporary files
	case ev.Name == in.cfg.Kubeconfig:
		// Someone removed or replaced it: write it again.
		return false, ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Write) || ev.Has(fsnotify.Create)
	case ev.Has(fsnotify.Chmod) && !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Create):
		return false, false
	}
	// Any other file: a configuration, or the target of a linked one.
	return true, false
}

func (in *Installer) handle(conf, token bool) {
	if token {
		if err := in.RefreshKubeconfig(); err != nil {
			in.log.Error("cannot rewrite the kubeconfig", "error", err.Error())
		}
	}
	if conf {
		if err := in.ReconcileAll(); err != nil {
			in.log.Error("cannot patch a CNI configuration", "error", err.Error())
		}
	}
}

// runNotify is Run, closing ready once installed (for tests).
func (in *Installer) runNotify(ctx context.Context, ready chan<- struct{}) error {
	in.ready = ready
	return in.Run(ctx)
}

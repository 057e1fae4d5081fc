package cni

import (
	"context"
	"log/slog"
	"os"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// Target is where Program installs a pod's rules: the pod's network
// namespace by path (opened and checked not to be the caller's own), or an
// Engine (a *nat.Fake in tests), when set, instead.
type Target struct {
	NetNS  string
	Engine nat.Engine
}

// Program is ADD's per-pod sequence, the one copy of it: decide from the API
// whether and how the pod ref is meshed (Decide, bounded by s.Timeout), and
// if it is, install its rules in target through pod.Apply (or, with
// s.Simulate, only plan them with pod.Simulate, after opening the namespace
// as ADD would, so that a dry run refuses what a real one would). The CNI
// plugin's ADD and the repair controller's in-place mode both call it, so
// that a pod repaired from the node gets exactly what the plugin would have
// installed.
//
// The Decision is nil when the pod is left alone (the reason is logged: not
// meshed, or programmed by its own init container). Errors are CNI errors
// (*types.Error) as ADD returns them: API failures 11 or CodeAPIRefused, the
// namespace 4, configuration 7, the kernel CodeKernel.
func Program(ctx context.Context, api API, ref PodRef, s *Settings, target Target, log *slog.Logger) (*Decision, error) {
	d, err := decidePod(ctx, api, ref, s, log)
	if err != nil || d == nil {
		return nil, err
	}
	f, err := target.open()
	if err != nil {
		return d, netnsError(err)
	}
	defer f.Close()
	if !s.Simulate {
		// pod.Apply logs what it installed.
		if _, err := pod.Apply(ctx, target.at(f, log), d.Config, pod.ApplyOptions{}); err != nil {
			return d, runError(err, d)
		}
		return d, nil
	}
	res, err := pod.Simulate(d.Config, log)
	if err != nil {
		return d, runError(err, d)
	}
	log.Info("linkerd.simulate: nothing installed; the pod's ruleset would be\n" + res.Plan.Render())
	return d, nil
}

// open opens t.NetNS for nat/pod: checked to be a pod's namespace and
// handed over as a file (pod.AtFile), so that what was checked is what is
// programmed. With an Engine it opens nothing (nil, nil).
func (t Target) open() (*os.File, error) {
	if t.Engine != nil {
		return nil, nil
	}
	return openPodNetNS(t.NetNS)
}

// at is the namespace f that open opened, or the Engine, logging to log.
func (t Target) at(f *os.File, log *slog.Logger) pod.Target {
	pt := pod.AtFile(f)
	if t.Engine != nil {
		pt = pod.OnEngine(t.Engine)
	}
	pt.Logger = log
	return pt
}

// decidePod is Decide with the configuration's timeout over all of the pod's
// requests (each is also bounded by the same timeout in the client), its
// errors classified as CNI errors; nil when the pod is not meshed (the
// reason logged).
func decidePod(ctx context.Context, api API, ref PodRef, s *Settings, log *slog.Logger) (*Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	d, err := Decide(ctx, api, ref, s.Base, log)
	if err != nil {
		return nil, apiError(err)
	}
	if !d.Mesh {
		log.Info("pod not programmed: " + d.Reason)
		return nil, nil
	}
	return d, nil
}

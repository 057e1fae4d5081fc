package repair

import (
	"context"
	"log/slog"

	"github.com/proxy-init/netlink-native/internal/cni"
	corev1 "k8s.io/api/core/v1"
)

// repairInPlace is ModeInPlace's action: read the plugin's configuration
// from the node, find the pod's network namespace through the runtime, and
// run cni.Program, ADD's own sequence (the same per-pod decisions, the same
// pod.Apply), into it. The kubelet restarts the failed validator by itself,
// which then finds the rules. It reports whether to retry: a plugin not
// installed yet, a runtime or API error.
func (c *Controller) repairInPlace(ctx context.Context, pod *corev1.Pod, log *slog.Logger) bool {
	start := c.now()
	stopping := ctx // the controller's own context, not the repair's deadline
	ctx, cancel := context.WithTimeout(ctx, c.opts.InPlace.Timeout)
	defer cancel()
	fail := func(what string, err error) bool {
		if stopping.Err() != nil {
			return false // shutting down: the call was cut, not failed
		}
		c.m.PodsRepairErrors.Inc()
		log.Warn("in-place repair failed; will retry: "+what, "error", err)
		return true
	}
	s, path, err := LoadCNISettings(c.opts.InPlace.CNIConfig)
	if err != nil {
		return fail("read the CNI plugin's configuration", err)
	}
	// Found even with an Engine (tests), so the lookup is exercised too.
	target := cni.Target{Engine: c.opts.InPlace.Engine}
	if target.NetNS, err = c.opts.InPlace.Sandboxes.NetNS(ctx, pod); err != nil {
		return fail("find the pod's network namespace", err)
	}
	api := samePod{Kube: c.kube, uid: pod.UID}
	d, err := cni.Program(ctx, api, cni.PodRef{Namespace: pod.Namespace, Name: pod.Name}, s, target, log.With("cniConfig", path, "netns", target.NetNS))
	if err != nil {
		return fail("program the pod's rules", err)
	}
	if d == nil {
		log.Info("nothing to repair in place: the CNI plugin would not program this pod either")
		return false
	}
	if s.Simulate {
		log.Info("linkerd.simulate is set in the plugin's configuration: nothing installed, as the plugin would install nothing")
		return false
	}
	c.m.PodsRepairLatency.Observe(c.now().Sub(start).Seconds())
	c.m.PodsRepaired.Inc()
	log.Info("repaired pod in place: its linkerd-network-validator exited 95; installed its rules, the kubelet re-runs the validator", "netns", target.NetNS)
	c.record(stopping, pod, eventRepaired, log)
	return false
}

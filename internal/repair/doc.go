// Package repair is the repair controller, a drop-in for upstream Linkerd's
// linkerd-cni-repair-controller: it watches the meshed pods of one node
// (label linkerd.io/control-plane-ns, field spec.nodeName) and acts on each
// whose linkerd-network-validator init container last exited with code 95,
// the validator's "the CNI plugin did not program this pod" (the pod was
// created before the plugin was in place).
//
// In ModeDelete (upstream's behaviour, the default) it deletes the pod with
// grace period 0 so that its owner creates a new one, which the plugin, now
// in place, programs. In ModeInPlace it programs the pod's rules from the
// node instead, through the same cni.Program the plugin's ADD runs, in the
// network namespace the container runtime (CRI) names for the pod; the
// kubelet then re-runs the validator, and the pod survives (even one
// without an owner).
//
// Either way it records an events.k8s.io/v1 event on the pod and counts
// what it did in Prometheus metrics named as upstream's. cmd/
// proxy-init-cni-repair wires it to flags, logging and the admin server.
package repair

package cni

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Names upstream's plugin keys its decisions on.
const (
	// InitContainerName is the init container of a pod that programs
	// itself (proxy-init in init-container mode): we leave it alone.
	InitContainerName = "linkerd-init"
	// ProxyContainerName is the proxy; a pod without it is not meshed.
	ProxyContainerName = "linkerd-proxy"
	// ControlPlaneLabel marks the control plane's pods, which must reach the
	// API server without the proxy.
	ControlPlaneLabel = "linkerd.io/control-plane-component"

	AnnotationSkipInbound  = "config.linkerd.io/skip-inbound-ports"
	AnnotationSkipOutbound = "config.linkerd.io/skip-outbound-ports"
	AnnotationSkipSubnets  = "config.linkerd.io/skip-subnets"
	AnnotationProxyUID     = "config.linkerd.io/proxy-uid"
	AnnotationProxyGID     = "config.linkerd.io/proxy-gid"
)

// annotations are the per-pod overrides, in the order upstream applies them.
var annotations = []string{AnnotationSkipOutbound, AnnotationSkipInbound, AnnotationSkipSubnets, AnnotationProxyUID, AnnotationProxyGID}

// apiServerFallbackPorts are skipped for control-plane pods when the
// default/kubernetes Service cannot be read, as upstream does.
var apiServerFallbackPorts = []nat.PortRange{{First: 443, Last: 443}, {First: 6443, Last: 6443}}

// API is what the plugin reads from Kubernetes: NewAPI's REST client, or in
// tests client-go's fake clientset.
type API interface {
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
	Service(ctx context.Context, namespace, name string) (*corev1.Service, error)
}

// Decision is what to do with one pod.
type Decision struct {
	// Mesh says whether the plugin installs rules.
	Mesh bool
	// Reason says why, for the log.
	Reason string
	// Config is the pod's configuration (when Mesh).
	Config nat.Config
	// origin names, for each setting an annotation set, the annotation,
	// so that an error names what the operator must fix.
	origin map[nat.Field]string
}

// Decide reads the pod, and at most once its namespace and the
// default/kubernetes Service, and returns what to install: base with the
// pod's annotations (the pod's, else its namespace's) applied. API errors are
// returned wrapped, saying what was being read; bad annotation values are
// CNI error 7 naming the annotation.
func Decide(ctx context.Context, api API, ref PodRef, base nat.Config, log *slog.Logger) (*Decision, error) {
	pod, err := api.Pod(ctx, ref.Namespace, ref.Name)
	if err != nil {
		return nil, fmt.Errorf("read pod %s/%s from the Kubernetes API: %w", ref.Namespace, ref.Name, err)
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == InitContainerName {
			return &Decision{Reason: "the pod has a " + InitContainerName + " init container, which programs it"}, nil
		}
	}
	if !hasProxy(&pod.Spec) {
		return &Decision{Reason: "the pod has no " + ProxyContainerName + " container"}, nil
	}
	d := &Decision{Mesh: true, Reason: "meshed", Config: base, origin: map[nat.Field]string{}}
	values, err := overrides(ctx, api, ref.Namespace, pod)
	if err != nil {
		return nil, err
	}
	for _, key := range annotations {
		v, ok := values[key]
		if !ok {
			continue
		}
		if err := d.apply(key, v); err != nil {
			return nil, err
		}
		log.Info("annotation override", "annotation", key, "value", v.value, "from", v.from)
	}
	if pod.Labels[ControlPlaneLabel] != "" {
		ports, err := apiServerPorts(ctx, api)
		if err != nil {
			log.Warn("could not read the default/kubernetes Service; skipping ports 443 and 6443 for this control-plane pod", "error", err)
			ports = apiServerFallbackPorts
		}
		d.Config.OutboundPortsToIgnore = append(d.Config.OutboundPortsToIgnore, ports...)
		log.Info("control-plane pod: the API server's ports skip the proxy", "ports", portsString(ports))
	}
	return d, nil
}

func hasProxy(spec *corev1.PodSpec) bool {
	for _, cs := range [][]corev1.Container{spec.Containers, spec.InitContainers} { // init: native sidecar
		for _, c := range cs {
			if c.Name == ProxyContainerName {
				return true
			}
		}
	}
	return false
}

type override struct{ value, from string }

// overrides collects the annotations' values, the pod's first; the
// namespace is read once, and only when the pod lacks one of them.
func overrides(ctx context.Context, api API, namespace string, pod *corev1.Pod) (map[string]override, error) {
	out := map[string]override{}
	missing := false
	for _, key := range annotations {
		if v := pod.Annotations[key]; v != "" {
			out[key] = override{v, "pod"}
		} else {
			missing = true
		}
	}
	if !missing {
		return out, nil
	}
	ns, err := api.Namespace(ctx, namespace)
	if err != nil {
		return nil, fmt.Errorf("read namespace %s from the Kubernetes API (for its config.linkerd.io annotations): %w", namespace, err)
	}
	for _, key := range annotations {
		if _, ok := out[key]; ok {
			continue
		}
		if v := ns.Annotations[key]; v != "" {
			out[key] = override{v, "namespace"}
		}
	}
	return out, nil
}

// apply sets one override as upstream does: skip-inbound-ports adds to the
// configured list; the others replace the configured value.
func (d *Decision) apply(key string, o override) error {
	where := fmt.Sprintf("annotation %s (on the %s)", key, o.from)
	bad := func(err error) error { return invalid(where, o.value, err.Error()) }
	var err error
	switch key {
	case AnnotationSkipInbound:
		var ports []nat.PortRange
		if ports, err = nat.ParsePortList(o.value); err != nil {
			return bad(err)
		}
		d.Config.InboundPortsToIgnore = append(d.Config.InboundPortsToIgnore, ports...)
		d.origin[nat.FieldInboundPortsToIgnore] = where
	case AnnotationSkipOutbound:
		if d.Config.OutboundPortsToIgnore, err = nat.ParsePortList(o.value); err != nil {
			return bad(err)
		}
		d.origin[nat.FieldOutboundPortsToIgnore] = where
	case AnnotationSkipSubnets:
		if d.Config.InboundSubnetsToIgnore, err = nat.ParsePrefixList(o.value); err != nil {
			return bad(err)
		}
		d.origin[nat.FieldInboundSubnetsToIgnore] = where
	case AnnotationProxyUID, AnnotationProxyGID:
		// As upstream, an integer; one too large for the kernel is refused
		// by nat's Validate, blamed on this annotation through origin.
		id, err := strconv.ParseInt(strings.TrimSpace(o.value), 10, 64)
		if err != nil {
			return bad(fmt.Errorf("not an integer id (-1 for none)"))
		}
		if key == AnnotationProxyUID {
			d.Config.ProxyUID = id
			d.origin[nat.FieldProxyUID] = where
		} else {
			d.Config.ProxyGID = id
			d.origin[nat.FieldProxyGID] = where
		}
	}
	return nil
}

// apiServerPorts are the ports and integer target ports of the
// default/kubernetes Service.
func apiServerPorts(ctx context.Context, api API) ([]nat.PortRange, error) {
	svc, err := api.Service(ctx, "default", "kubernetes")
	if err != nil {
		return nil, err
	}
	var out []nat.PortRange
	add := func(p int32) {
		if p > 0 && p <= 65535 {
			out = append(out, nat.PortRange{First: uint16(p), Last: uint16(p)})
		}
	}
	for _, p := range svc.Spec.Ports {
		add(p.Port)
		if p.TargetPort.Type == intstr.Int {
			add(p.TargetPort.IntVal)
		}
	}
	return out, nil
}

func portsString(ps []nat.PortRange) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ","
		}
		s += p.String()
	}
	return s
}

// ConfigError is err from nat (naming a proxy-init flag) as CNI error 7
// naming the key or annotation the value came from.
func (d *Decision) ConfigError(err error) error { return configError(err, d.origin) }

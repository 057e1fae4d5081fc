package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proxy-init/netlink-native/internal/kubefake"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// The CNI plugin's front end: ADD as the kubelet's runtime runs it, one
// whole process, for a meshed pod (rules installed) and for an unmeshed
// one (the skip path: the pod is read, nothing is installed), beside
// proxy-init applying the same rules into a pod namespace by path, as the
// plugin does. The plugin runs in a node namespace made for the section,
// where the fake API server (internal/kubefake) listens on loopback; each
// run gets a new pod namespace (made and deleted untimed).
var cniFrontEnd = frontEnd{
	key: "cni", name: "the CNI plugin (`proxy-init-cni` ADD)",
	probe:   func(r *runner) string { return r.findCNI() },
	prepare: func(r *runner) error { return r.prepareCNI() },
	rows: func(r *runner) []frontRow {
		podPath := r.cniPodPath()
		return []frontRow{
			r.cniRow("cni-apply", "for comparison: `proxy-init --netns POD`, the same rules into a pod namespace by path, from the node namespace",
				r.cni.conf, append([]string{r.bin, "--netns", podPath}, r.base...)),
			r.cniRow("cni-meshed", "`proxy-init-cni` ADD, a meshed pod: reads the pod, installs the rules", r.cni.conf, []string{r.cni.plugin}, r.cniAdd("meshed", podPath)...),
			r.cniRow("cni-skip", "`proxy-init-cni` ADD, an unmeshed pod: reads the pod, installs nothing", r.cni.conf, []string{r.cni.plugin}, r.cniAdd("unmeshed", podPath)...),
			r.cniVersionRow("cni-version", "`proxy-init-cni` VERSION: the process alone, no pod, no API", r.cni.plugin),
		}
	},
}

// cniPodPath stands for the pod namespace every ADD row makes (untimed, in
// the child, held by its descriptor), uses and drops with the child.
func (r *runner) cniPodPath() string { return podNetnsToken }

// cniRow is one timed run of argv from the node namespace with conf on
// stdin, into a pod namespace made before it (untimed) that ends with the
// child, whose nf_tables generation counts its transactions.
func (r *runner) cniRow(key, label, conf string, argv []string, env ...string) frontRow {
	return frontRow{key: key, label: label, ns: r.cni.node, spec: childSpec{
		PodNetns: true,
		Time:     argv,
		Env:      env,
		Stdin:    conf,
		GenNetns: r.cniPodPath(),
	}}
}

// cniVersionRow is a plugin answering VERSION: its process start-up and
// exit, nothing else, which the ADD rows pay as well.
func (r *runner) cniVersionRow(key, label, plugin string) frontRow {
	return frontRow{key: key, label: label, ns: r.cni.node, spec: childSpec{
		Time: []string{plugin}, Env: []string{"CNI_COMMAND=VERSION"}, Stdin: r.cni.conf,
	}}
}

// cniAdd is the environment of an ADD of the pod default/name into the
// pod namespace at podPath, as a runtime passes it.
func (r *runner) cniAdd(name, podPath string) []string {
	return []string{"CNI_COMMAND=ADD", "CNI_CONTAINERID=bench-" + name, "CNI_NETNS=" + podPath, "CNI_IFNAME=eth0",
		"CNI_PATH=" + filepath.Dir(r.cni.plugin),
		"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + name + ";K8S_POD_INFRA_CONTAINER_ID=infra"}
}

// cniState is what the CNI rows share.
type cniState struct {
	plugin string // the plugin binary
	node   string // the node namespace's path
	conf   string // the network configuration, the plugin's stdin
	// The fields of conf, for upstream's configurations (frontends_upstream.go).
	fields map[string]any
	// Upstream's plugin and its configurations with ipv6 true and false.
	upstream, upConf, upConfV4 string
}

// findCNI finds the plugin: bin/proxy-init-cni as make build leaves it,
// else built here from cmd/proxy-init-cni the same way.
func (r *runner) findCNI() string {
	bin := filepath.Join(filepath.Dir(r.bin), "proxy-init-cni")
	if _, err := os.Stat(bin); err == nil {
		r.cni.plugin = bin
		return ""
	}
	if _, err := os.Stat("cmd/proxy-init-cni"); err != nil {
		return "there is no cmd/proxy-init-cni in this tree"
	}
	bin = filepath.Join(r.tmp, "proxy-init-cni")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/proxy-init-cni")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Sprintf("build cmd/proxy-init-cni: %v: %s", err, tail(out))
	}
	r.cni.plugin = bin
	return ""
}

// prepareCNI makes the node namespace, starts the API server inside it
// with a meshed and an unmeshed pod, and writes the kubeconfig and the
// network configuration (linkerd's keys for the section 1 configuration).
func (r *runner) prepareCNI() error {
	// nattest's namespace (loopback up), held by our descriptor: the
	// children reach it by path, nothing is named or mounted.
	node, err := nattest.NewNamespace()
	if err != nil {
		return fmt.Errorf("node namespace: %w", err)
	}
	r.cleanups = append(r.cleanups, func() { _ = node.Close() })
	r.cni.node = node.Path()
	var kube *kubefake.Server
	// The listening socket is made inside the node namespace and stays
	// there; the server's goroutines may run on any thread.
	if err := node.Do(func() error { kube = kubefake.New(); return nil }); err != nil {
		return err
	}
	r.cleanups = append(r.cleanups, kube.Close)
	kube.AddNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	kube.AddPod(kubefake.MeshedPod("default", "meshed"))
	kube.AddPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "unmeshed"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}})
	kubeconfig, err := kube.WriteKubeconfig(r.tmp)
	if err != nil {
		return err
	}
	linkerd, err := linkerdSection(r.base)
	if err != nil {
		return err
	}
	r.cni.fields = map[string]any{
		"cniVersion": "1.0.0", "name": "bench-pods", "type": "proxy-init-cni",
		"kubernetes": map[string]any{"kubeconfig": kubeconfig},
		"linkerd":    linkerd,
	}
	r.cni.conf = filepath.Join(r.tmp, "cni.json")
	if err := writeJSON(r.cni.conf, r.cni.fields); err != nil {
		return err
	}
	bin, err := binaryOf(r.cni.plugin, "bin/proxy-init-cni")
	r.res.CNIBinary = bin
	return err
}

// binaryOf is the size figure of the binary at path, named as shown.
func binaryOf(path, shown string) (*Binary, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return &Binary{Path: shown, Bytes: st.Size(), Static: isStatic(path)}, nil
}

// linkerdSection is the network configuration's "linkerd" keys, as
// linkerd's installer writes them, for the defaults plus the base flags.
func linkerdSection(base []string) (map[string]any, error) {
	if len(base) != 2 || base[0] != "--inbound-ports-to-ignore" {
		return nil, fmt.Errorf("the CNI configuration knows only --inbound-ports-to-ignore; base flags %q", base)
	}
	d := nat.DefaultConfig()
	return map[string]any{
		"incoming-proxy-port": d.InboundProxyPort, "outgoing-proxy-port": d.OutboundProxyPort, "proxy-uid": d.ProxyUID,
		"inbound-ports-to-ignore": strings.Split(base[1], ","), "ipv6": d.IPv6,
	}, nil
}

// Upstream's plugin comes after ours: it uses the node namespace, the API
// server and the configuration that ours' prepare made.
func init() { frontEnds = append(frontEnds, cniFrontEnd, upstreamCNIFrontEnd) }

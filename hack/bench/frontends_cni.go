package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proxy-init/netlink-native/internal/kubefake"
	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/nat"
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
		pod := r.prefix + "cni-pod"
		podPath := "/run/netns/" + pod
		inPod := func(key, label string, argv []string, env ...string) frontRow {
			return frontRow{key: key, label: label, ns: r.cni.node, spec: childSpec{
				Setup:    [][]string{{"ip", "netns", "add", pod}},
				Time:     argv,
				Env:      env,
				Stdin:    r.cni.conf,
				GenNetns: podPath,
				Cleanup:  [][]string{{"ip", "netns", "del", pod}},
			}}
		}
		add := func(name string) []string {
			return []string{"CNI_COMMAND=ADD", "CNI_CONTAINERID=bench-" + name, "CNI_NETNS=" + podPath, "CNI_IFNAME=eth0",
				"CNI_PATH=" + filepath.Dir(r.cni.plugin),
				"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + name + ";K8S_POD_INFRA_CONTAINER_ID=infra"}
		}
		return []frontRow{
			inPod("cni-apply", "for comparison: `proxy-init --netns POD`, the same rules into a pod namespace by path, from the node namespace",
				append([]string{r.bin, "--netns", podPath}, r.base...)),
			inPod("cni-meshed", "`proxy-init-cni` ADD, a meshed pod: reads the pod, installs the rules", []string{r.cni.plugin}, add("meshed")...),
			inPod("cni-skip", "`proxy-init-cni` ADD, an unmeshed pod: reads the pod, installs nothing", []string{r.cni.plugin}, add("unmeshed")...),
		}
	},
}

// cniState is what the CNI rows share.
type cniState struct {
	plugin string // the plugin binary
	node   string // the node namespace's path
	conf   string // the network configuration, the plugin's stdin
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
	name := r.prefix + "cni-node"
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %w: %s", name, err, out)
	}
	r.cleanups = append(r.cleanups, func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	r.cni.node = "/run/netns/" + name
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("lo up in %s: %w: %s", name, err, out)
	}
	ns, err := netns.Open(r.cni.node)
	if err != nil {
		return err
	}
	defer ns.Close()
	var kube *kubefake.Server
	// The listening socket is made inside the node namespace and stays
	// there; the server's goroutines may run on any thread.
	if err := netns.Do(int(ns.Fd()), func() error { kube = kubefake.New(); return nil }); err != nil {
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
	conf, err := json.Marshal(map[string]any{
		"cniVersion": "1.0.0", "name": "bench-pods", "type": "proxy-init-cni",
		"kubernetes": map[string]any{"kubeconfig": kubeconfig},
		"linkerd":    linkerd,
	})
	if err != nil {
		return err
	}
	r.cni.conf = filepath.Join(r.tmp, "cni.json")
	return os.WriteFile(r.cni.conf, conf, 0o644)
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

func init() { frontEnds = append(frontEnds, cniFrontEnd) }

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/proxy-init/netlink-native/internal/kubefake"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/internal/topology"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The tests of this package run the built plugin as a runtime runs it:
// through libcni, from inside a node namespace (the whole test process sits
// in one, see testns.RunInNodeNamespace), against a fake API server on the
// node's loopback, into pod namespaces that are open descriptors.

var pluginDir string // holds the built proxy-init-cni

func TestMain(m *testing.M) {
	os.Exit(testns.RunWithCommand(m, "proxy-init-cni", func(b string) { pluginDir = filepath.Dir(b) }))
}

// refPlugins is where Debian's containernetworking-plugins live.
const refPlugins = "/usr/lib/cni"

// Addresses the bridge's IPAM hands out: documentation ranges, inside the
// node namespace only.
const (
	podSubnet4 = "198.51.100.0/24"
	podSubnet6 = "2001:db8:100::/64"
)

// node is the node side of the tests: the API server, the kubeconfig, the
// runtime (libcni) and its directories.
type node struct {
	t          *testing.T
	kube       *kubefake.Server
	kubeconfig string
	cni        *libcni.CNIConfig
	dir        string
	self       *os.File // the node namespace
}

var podCounter atomic.Int64

func newNode(t *testing.T) *node {
	t.Helper()
	testns.RequireRoot(t)
	if !testns.InNodeNamespace() {
		t.Fatal("not in a node namespace of the test's own: refusing to make bridges")
	}
	for _, p := range []string{"loopback", "bridge", "host-local"} {
		if _, err := os.Stat(filepath.Join(refPlugins, p)); err != nil {
			t.Fatalf("reference CNI plugin missing (apt-get install containernetworking-plugins): %v", err)
		}
	}
	n := &node{t: t, kube: kubefake.New(), dir: t.TempDir()}
	t.Cleanup(n.kube.Close)
	var err error
	if n.kubeconfig, err = n.kube.WriteKubeconfig(n.dir); err != nil {
		t.Fatal(err)
	}
	n.cni = libcni.NewCNIConfigWithCacheDir([]string{pluginDir, refPlugins}, filepath.Join(n.dir, "cache"), nil)
	if n.self, err = os.Open("/proc/self/ns/net"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.self.Close() })
	// The bridge and its gateway addresses must not wait for duplicate
	// address detection (this process is the node namespace).
	if err := topology.DisableDAD(); err != nil {
		t.Fatal(err)
	}
	n.kube.AddNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	n.kube.AddService(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)},
		}},
	})
	return n
}

// linkerdSection is what linkerd's installer writes for the plugin.
var linkerdSection = map[string]any{
	"incoming-proxy-port":     4143,
	"outgoing-proxy-port":     4140,
	"proxy-uid":               2102,
	"ports-to-redirect":       []int{},
	"inbound-ports-to-ignore": []string{"4191", "4190"},
	"simulate":                false,
	"use-wait-flag":           false,
	"iptables-mode":           "nft",
	"ipv6":                    true,
}

// ours is our plugin's entry in a conflist, as linkerd's installer writes
// it; edit changes it.
func (n *node) ours(edit func(map[string]any)) map[string]any {
	linkerd := map[string]any{}
	for k, v := range linkerdSection {
		linkerd[k] = v
	}
	p := map[string]any{
		"type":       "proxy-init-cni",
		"name":       "linkerd-cni",
		"log_level":  "debug",
		"kubernetes": map[string]any{"kubeconfig": n.kubeconfig, "k8s_api_root": n.kube.URL()},
		"policy":     map[string]any{"type": "k8s", "k8s_api_root": n.kube.URL(), "k8s_auth_token": "not-used"},
		"linkerd":    linkerd,
	}
	if edit != nil {
		edit(p)
	}
	return p
}

// bridgeChain is a pod network as a node's runtime configures one: loopback,
// then a bridge with host-local IPAM (dual stack), then our plugin.
func (n *node) bridgeChain() []map[string]any {
	return []map[string]any{
		{"type": "loopback"},
		{
			"type": "bridge", "bridge": "pit0", "isGateway": true, "ipMasq": false,
			"ipam": map[string]any{
				"type":    "host-local",
				"dataDir": filepath.Join(n.dir, "ipam"),
				"ranges":  [][]map[string]string{{{"subnet": podSubnet4}}, {{"subnet": podSubnet6}}},
			},
		},
	}
}

// conflist makes a network configuration list of the plugins.
func (n *node) conflist(version string, plugins ...map[string]any) *libcni.NetworkConfigList {
	n.t.Helper()
	b, err := json.Marshal(map[string]any{"cniVersion": version, "name": "pit-pods", "plugins": plugins})
	if err != nil {
		n.t.Fatal(err)
	}
	l, err := libcni.ConfListFromBytes(b)
	if err != nil {
		n.t.Fatalf("conflist: %v\n%s", err, b)
	}
	return l
}

// podNS is one pod: its namespace and the runtime's view of it.
type podNS struct {
	ns  *testns.NS
	ref [2]string // namespace, name
	rt  *libcni.RuntimeConf
}

// newPod makes a pod namespace; the runtime will name pod ns/name in
// CNI_ARGS as the kubelet does.
func (n *node) newPod(ns, name string) *podNS {
	n.t.Helper()
	p := &podNS{ns: testns.New(n.t), ref: [2]string{ns, name}}
	tp := topology.Adopt(n.t, p.ns.File(), n.self, netip.Addr{}, netip.Addr{}, netip.Addr{}, netip.Addr{})
	if err := tp.Do(topology.Pod, topology.DisableDAD); err != nil {
		n.t.Fatal(err)
	}
	p.rt = &libcni.RuntimeConf{
		ContainerID: fmt.Sprintf("pit%d", podCounter.Add(1)),
		NetNS:       p.ns.Path(),
		IfName:      "eth0",
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", ns},
			{"K8S_POD_NAME", name},
			{"K8S_POD_INFRA_CONTAINER_ID", "infra"},
		},
	}
	return p
}

// ruleset is the pod's whole nftables ruleset, read with nft.
func (p *podNS) ruleset(t *testing.T) string {
	t.Helper()
	return p.ns.Ruleset(t)
}

// cniError is err as the plugin's CNI error object.
func cniError(t *testing.T, err error) *types.Error {
	t.Helper()
	if err == nil {
		t.Fatal("the plugin succeeded; want an error")
	}
	te, ok := err.(*types.Error)
	if !ok {
		t.Fatalf("error is %T (%v), not the plugin's CNI error object", err, err)
	}
	return te
}

// addresses are the pod's and its gateway's, from the chain's result.
func addresses(t *testing.T, res types.Result) (pod4, pod6, gw4, gw6 netip.Addr) {
	t.Helper()
	r, err := current.NewResultFromResult(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range r.IPs {
		a, _ := netip.AddrFromSlice(ip.Address.IP)
		g, _ := netip.AddrFromSlice(ip.Gateway)
		a, g = a.Unmap(), g.Unmap()
		if a.Is4() {
			pod4, gw4 = a, g
		} else {
			pod6, gw6 = a, g
		}
	}
	if !pod4.IsValid() || !pod6.IsValid() || !gw4.IsValid() || !gw6.IsValid() {
		t.Fatalf("result lacks the bridge's IPv4 and IPv6 addresses: %+v", r)
	}
	return
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func has(s, sub string) bool { return strings.Contains(s, sub) }

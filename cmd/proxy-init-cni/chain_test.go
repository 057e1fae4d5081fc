package main

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/containernetworking/cni/pkg/version"
	"github.com/proxy-init/netlink-native/internal/cni"
	"github.com/proxy-init/netlink-native/internal/harness"
	"github.com/proxy-init/netlink-native/internal/kubefake"
	"github.com/proxy-init/netlink-native/internal/topology"
	corev1 "k8s.io/api/core/v1"
)

// chainVersions are the spec versions Debian's reference plugins (1.1.x)
// speak, from the first with CHECK's predecessor 0.3.0 on; 1.1.0, which they
// do not, is tested with our plugin alone (TestSpec110Alone).
var chainVersions = []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0"}

// podFlows are the connections a meshed pod's rules must redirect or leave
// alone, with linkerd's installer's configuration: the harness's flows, the
// peer being the node at the bridge's gateway.
var podFlows = []harness.Flow{
	{Kind: harness.Inbound, Port: 80, Want: harness.Proxy},
	{Kind: harness.Inbound, Port: 4190, Want: harness.Direct, Note: "inbound-ports-to-ignore"},
	{Kind: harness.Outbound, Port: 80, UID: harness.AppUID, GID: harness.AppGID, Want: harness.Proxy},
	{Kind: harness.Outbound, Port: 80, UID: harness.ProxyUID, GID: harness.AppGID, Want: harness.Direct, Note: "the proxy's own"},
	{Kind: harness.Inbound, IPv6: true, Port: 80, Want: harness.Proxy},
	{Kind: harness.Inbound, IPv6: true, Port: 4190, Want: harness.Direct, Note: "inbound-ports-to-ignore"},
	{Kind: harness.Outbound, IPv6: true, Port: 80, UID: harness.AppUID, GID: harness.AppGID, Want: harness.Proxy},
	{Kind: harness.Outbound, IPv6: true, Port: 80, UID: harness.ProxyUID, GID: harness.AppGID, Want: harness.Direct, Note: "the proxy's own"},
}

// dialFlows listens as the harness's topology does (the stand-in proxies and
// the application in the pod, the peer on the node's gateway addresses) and
// checks where each flow lands.
func dialFlows(t *testing.T, tp *topology.Topology, flows []harness.Flow) {
	t.Helper()
	tp.ListenProxy("proxy-in", 4143)
	tp.ListenProxy("proxy-out", 4140)
	tp.Listen(topology.Pod, "app", 80)
	tp.Listen(topology.Pod, "app", 4190)
	tp.ListenAddr(topology.Peer, "peer", netip.AddrPortFrom(tp.PeerAddr4, 80))
	tp.ListenAddr(topology.Peer, "peer", netip.AddrPortFrom(tp.PeerAddr6, 80))
	for _, f := range flows {
		from := topology.Pod
		opts := topology.DialOptions{Dst: f.Dst(tp)}
		if f.Kind == harness.Inbound {
			from = topology.Peer
		} else {
			opts.UID, opts.GID = f.UID, f.GID
		}
		got, want := tp.Dial(from, opts), f.Outcome(tp, f.Want)
		if got != want {
			t.Errorf("%s: got %v, want %v", f.Label(tp), got, want)
		}
	}
}

// TestChain runs a pod network of Debian's loopback and bridge plugins and
// ours, as a runtime does, for every spec version they share: ADD wires the
// pod and redirects its traffic, CHECK passes and then fails once a rule is
// deleted behind the plugin's back, DEL removes everything and a second DEL
// (and one after the namespace is gone) succeeds.
func TestChain(t *testing.T) {
	for _, v := range chainVersions {
		t.Run(v, func(t *testing.T) {
			n := newNode(t)
			n.kube.AddPod(kubefake.MeshedPod("default", "web"))
			list := n.conflist(v, append(n.bridgeChain(), n.ours(nil))...)
			p := n.newPod("default", "web")

			res, err := n.cni.AddNetworkList(ctx(t), list, p.rt)
			must(t, "ADD", err)
			if res.Version() != v {
				t.Errorf("result is in version %s, want the configuration's %s", res.Version(), v)
			}
			// Our plugin passes the bridge's result on: its addresses are
			// the pod's.
			pod4, pod6, gw4, gw6 := addresses(t, res)
			if !netip.MustParsePrefix(podSubnet4).Contains(pod4) || !netip.MustParsePrefix(podSubnet6).Contains(pod6) {
				t.Errorf("pod addresses %v %v are not the bridge's", pod4, pod6)
			}
			rules := p.ruleset(t)
			for _, want := range []string{"table ip proxy_init", "table ip6 proxy_init", "redirect to :4143", "redirect to :4140", "4190-4191", "meta skuid 2102"} {
				if !has(rules, want) {
					t.Errorf("pod ruleset lacks %q:\n%s", want, rules)
				}
			}
			if got := n.kube.Requests(kubefake.NamespacePath("default")); got > 1 {
				t.Errorf("ADD read the pod's namespace %d times, want at most once", got)
			}
			dialFlows(t, topology.Adopt(t, p.ns.File(), n.self, pod4, pod6, gw4, gw6), podFlows)

			if ok, _ := version.GreaterThanOrEqualTo(v, "0.4.0"); ok {
				must(t, "CHECK", n.cni.CheckNetworkList(ctx(t), list, p.rt))
				p.ns.Run(t, "nft", "flush", "chain", "ip", "proxy_init", "PROXY_INIT_OUTPUT")
				te := cniError(t, n.cni.CheckNetworkList(ctx(t), list, p.rt))
				if te.Code != cni.CodeMismatch || !has(te.Details, "-\t\tmeta skuid 2102") {
					t.Errorf("CHECK after a deleted rule: code %d %q, details:\n%s\nwant code %d and the missing rule in the diff", te.Code, te.Msg, te.Details, cni.CodeMismatch)
				}
			}

			must(t, "DEL", n.cni.DelNetworkList(ctx(t), list, p.rt))
			if rules := p.ruleset(t); rules != "" {
				t.Errorf("after DEL the pod still has rules:\n%s", rules)
			}
			if links := p.ns.Run(t, "ip", "-o", "link", "show"); has(links, "eth0") {
				t.Errorf("after DEL the pod still has eth0:\n%s", links)
			}
			must(t, "second DEL", n.cni.DelNetworkList(ctx(t), list, p.rt))
			p.ns.Close()
			must(t, "DEL after the namespace is gone", n.cni.DelNetworkList(ctx(t), list, p.rt))
		})
	}
}

// TestChainLeavesUnmeshedPodsAlone: a pod without a proxy, and one whose
// linkerd-init programs it, get no rules, and their traffic is untouched.
func TestChainLeavesUnmeshedPodsAlone(t *testing.T) {
	n := newNode(t)
	plain := kubefake.UnmeshedPod("default", "plain")
	self := kubefake.MeshedPod("default", "self")
	self.Spec.InitContainers = []corev1.Container{{Name: cni.InitContainerName}}
	n.kube.AddPod(plain)
	n.kube.AddPod(self)
	list := n.conflist("1.0.0", append(n.bridgeChain(), n.ours(nil))...)
	for _, name := range []string{"plain", "self"} {
		t.Run(name, func(t *testing.T) {
			p := n.newPod("default", name)
			res, err := n.cni.AddNetworkList(ctx(t), list, p.rt)
			must(t, "ADD", err)
			if rules := p.ruleset(t); rules != "" {
				t.Errorf("unmeshed pod got rules:\n%s", rules)
			}
			pod4, pod6, gw4, gw6 := addresses(t, res)
			dialFlows(t, topology.Adopt(t, p.ns.File(), n.self, pod4, pod6, gw4, gw6), []harness.Flow{
				{Kind: harness.Inbound, Port: 80, Want: harness.Direct},
				{Kind: harness.Outbound, Port: 80, UID: harness.AppUID, GID: harness.AppGID, Want: harness.Direct},
			})
			must(t, "CHECK", n.cni.CheckNetworkList(ctx(t), list, p.rt))
			must(t, "DEL", n.cni.DelNetworkList(ctx(t), list, p.rt))
		})
	}
}

// TestSpec110Alone runs version 1.1.0, which the reference plugins here do
// not speak, with our plugin alone: ADD returns an empty result and
// installs, CHECK passes, STATUS reports ready, GC succeeds, DEL removes.
func TestSpec110Alone(t *testing.T) {
	n := newNode(t)
	n.kube.AddPod(kubefake.MeshedPod("default", "web"))
	list := n.conflist("1.1.0", n.ours(nil))
	p := n.newPod("default", "web")
	res, err := n.cni.AddNetworkList(ctx(t), list, p.rt)
	must(t, "ADD", err)
	if res.Version() != "1.1.0" {
		t.Errorf("result version %s, want 1.1.0", res.Version())
	}
	if !has(p.ruleset(t), "table ip6 proxy_init") {
		t.Errorf("ADD installed nothing:\n%s", p.ruleset(t))
	}
	must(t, "CHECK", n.cni.CheckNetworkList(ctx(t), list, p.rt))
	must(t, "STATUS", n.cni.GetStatusNetworkList(ctx(t), list))
	must(t, "GC", n.cni.GCNetworkList(ctx(t), list, nil))
	must(t, "DEL", n.cni.DelNetworkList(ctx(t), list, p.rt))
	if rules := p.ruleset(t); rules != "" {
		t.Errorf("after DEL:\n%s", rules)
	}

	// STATUS without a readable kubeconfig: not available.
	bad := n.conflist("1.1.0", n.ours(func(c map[string]any) {
		c["kubernetes"] = map[string]any{"kubeconfig": "/nonexistent/kubeconfig"}
	}))
	te := cniError(t, n.cni.GetStatusNetworkList(ctx(t), bad))
	if te.Code != cni.CodeNotAvailable || !has(te.Msg, "/nonexistent/kubeconfig") {
		t.Errorf("STATUS with a missing kubeconfig: code %d %q, want %d naming the file", te.Code, te.Msg, cni.CodeNotAvailable)
	}
}

// TestVersion: VERSION lists every spec version the CNI library speaks.
func TestVersion(t *testing.T) {
	n := newNode(t)
	info, err := n.cni.GetVersionInfo(ctx(t), "proxy-init-cni")
	must(t, "VERSION", err)
	want := []string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}
	if got := info.SupportedVersions(); !slices.Equal(got, want) {
		t.Errorf("supported versions %v, want %v", got, want)
	}
}

// TestSimulateInstallsNothing: linkerd.simulate asks the API and plans, but
// leaves the pod as it was.
func TestSimulateInstallsNothing(t *testing.T) {
	n := newNode(t)
	n.kube.AddPod(kubefake.MeshedPod("default", "web"))
	list := n.conflist("1.0.0", n.ours(func(c map[string]any) { c["linkerd"].(map[string]any)["simulate"] = true }))
	p := n.newPod("default", "web")
	_, err := n.cni.AddNetworkList(ctx(t), list, p.rt)
	must(t, "ADD", err)
	if rules := p.ruleset(t); rules != "" {
		t.Errorf("simulate installed:\n%s", rules)
	}
	if n.kube.Requests(kubefake.PodPath("default", "web")) != 1 {
		t.Errorf("simulate did not read the pod")
	}
}

// TestDelDespiteBadConfiguration: a configuration ADD would refuse does not
// keep DEL from removing the rules, so a pod can always be torn down.
func TestDelDespiteBadConfiguration(t *testing.T) {
	n := newNode(t)
	n.kube.AddPod(kubefake.MeshedPod("default", "web"))
	p := n.newPod("default", "web")
	_, err := n.cni.AddNetworkList(ctx(t), n.conflist("1.0.0", n.ours(nil)), p.rt)
	must(t, "ADD", err)
	bad := n.conflist("1.0.0", n.ours(func(c map[string]any) { c["linkerd"].(map[string]any)["incoming-proxy-port"] = 0 }))
	n.kube.SetFault(kubefake.InternalError) // and DEL does not need the API
	must(t, "DEL", n.cni.DelNetworkList(ctx(t), bad, p.rt))
	if rules := p.ruleset(t); rules != "" {
		t.Errorf("after DEL:\n%s", rules)
	}
}

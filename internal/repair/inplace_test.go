package repair

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/proxy-init/netlink-native/internal/cni"
	"github.com/proxy-init/netlink-native/internal/repair/clientset"
	"github.com/proxy-init/netlink-native/nat"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conflist is a node's network configuration as linkerd's installer writes
// it: a pod network's plugin, then ours, with the base configuration.
const conflist = `{
  "cniVersion": "1.0.0",
  "name": "k8s-pod-network",
  "plugins": [
    {"type": "bridge", "bridge": "cni0"},
    {"name": "linkerd-cni", "type": "linkerd-cni", "log_level": "info",
     "kubernetes": {"kubeconfig": "/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"},
     "linkerd": {"incoming-proxy-port": 4143, "outgoing-proxy-port": 4140, "proxy-uid": 2102,
       "ports-to-redirect": [], "inbound-ports-to-ignore": ["4190", "4191"], "outbound-ports-to-ignore": ["443"],
       "simulate": false, "use-wait-flag": false, "ipv6": true}}
  ]
}`

// noPluginYet is the same network before the installer added us.
const noPluginYet = `{"cniVersion": "1.0.0", "name": "k8s-pod-network", "plugins": [{"type": "bridge", "bridge": "cni0"}]}`

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "10-pod-network.conflist")
	if err := os.WriteFile(p+".tmp", []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		t.Fatal(err)
	}
	return p
}

// annotated is a meshed pod with an annotation override, so that the
// decisions are seen to be the plugin's, and its namespace.
func annotated(name string, opts ...podOpt) (*corev1.Pod, *corev1.Namespace) {
	p := newPod(name, opts...)
	p.Annotations = map[string]string{cni.AnnotationSkipOutbound: "3306,5432"}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: map[string]string{cni.AnnotationSkipInbound: "9000"}}}
	return p, ns
}

// pluginRules runs the CNI plugin's ADD for the pod, with the same
// configuration entry and API, onto a fresh Fake: what the plugin installs.
func pluginRules(t *testing.T, h *harness, confPath string, pod *corev1.Pod) *nat.Fake {
	t.Helper()
	entry := pluginEntryOf(t, confPath)
	engine := nat.NewFake()
	p := &cni.Plugin{Stderr: &bytes.Buffer{}, Engine: engine, NewAPI: func(*cni.Settings) (cni.API, error) { return clientset.Adapt(h.client), nil }}
	_, err := p.Add(&skel.CmdArgs{ContainerID: "c1", Netns: "/unused", IfName: "eth0",
		Args: "K8S_POD_NAMESPACE=" + pod.Namespace + ";K8S_POD_NAME=" + pod.Name, StdinData: entry})
	if err != nil {
		t.Fatalf("plugin ADD: %v", err)
	}
	return engine
}

func pluginEntryOf(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := pluginEntry(raw)
	if err != nil {
		t.Fatal(err)
	}
	return entry
}

// newInPlace is a harness (not yet started) in in-place mode for pod: a fake
// runtime holding its sandbox, whose namespace is at netnsPath, a Fake
// engine, the plugin's configuration at conf, and the pod's namespace
// object created.
func newInPlace(t *testing.T, pod *corev1.Pod, ns *corev1.Namespace, conf, netnsPath string, maxRetries int) (*harness, *fakeRuntime, *nat.Fake) {
	t.Helper()
	rt := &fakeRuntime{sandboxes: []fakeSandbox{{id: "sb1", namespace: pod.Namespace, name: pod.Name, uid: string(pod.UID), info: containerdInfo(netnsPath)}}}
	engine := nat.NewFake()
	h := newHarness(t, Options{Mode: ModeInPlace, MaxRetries: maxRetries, InPlace: InPlaceOptions{CNIConfig: conf, Sandboxes: serveFakeRuntime(t, rt), Engine: engine}}, pod)
	if _, err := h.client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return h, rt, engine
}

// TestInPlace: the pod keeps running; its namespace, found through the
// runtime, gets exactly the rules the plugin's ADD installs for it; the
// event says so; a second status update of the same restart does nothing.
func TestInPlace(t *testing.T) {
	pod, ns := annotated("web", failed(95, 1))
	conf := writeConfig(t, t.TempDir(), conflist)
	h, _, engine := newInPlace(t, pod, ns, conf, "/var/run/netns/cni-web", 0)
	h.start()
	h.eventually("an event", func() bool { return len(h.events()) == 1 })
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: "Other", Status: "True"})
	h.updateStatus(pod)
	h.settle()

	assertCounts(t, h, counts{repaired: 1})
	if n := len(h.deletes()); n != 0 {
		t.Errorf("%d deletes in in-place mode", n)
	}
	if engine.Writes != 1 {
		t.Errorf("%d rule transactions, want 1", engine.Writes)
	}
	want, err := pluginRules(t, h, conf, pod).Live(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d, err := engine.Verify(context.Background(), want); err != nil || !d.Empty() {
		t.Errorf("rules differ from the plugin's (err %v):\n%s", err, d)
	}
	live, _ := engine.Live(context.Background())
	if r := live.Render(); !bytes.Contains([]byte(r), []byte("3306")) || !bytes.Contains([]byte(r), []byte("9000")) {
		t.Errorf("the annotations were not applied:\n%s", r)
	}
	ev := h.events()[0]
	if ev.Reason != ReasonRepairedInPlace || ev.Action != ActionRepairing || ev.Note != NoteRepairedInPlace ||
		ev.ReportingController != ReportingController || ev.Regarding.Name != "web" || ev.Regarding.UID != pod.UID {
		t.Errorf("event %+v", ev)
	}
}

// TestInPlaceWaitsForPlugin: before the installer has added the plugin's
// entry, the repair fails (counted, retried up to MaxRetries, nothing
// installed); once it is there, the next failure is repaired.
func TestInPlaceWaitsForPlugin(t *testing.T) {
	pod, ns := annotated("web", failed(95, 1))
	dir := t.TempDir()
	writeConfig(t, dir, noPluginYet)
	h, _, engine := newInPlace(t, pod, ns, dir, "/var/run/netns/cni-web", 1)
	h.start()
	h.eventually("two failed attempts", func() bool { return h.m.PodsRepairErrors != nil && counterValue(h.m.PodsRepairErrors) == 2 })
	h.settle()
	assertCounts(t, h, counts{repairErrors: 2})
	if engine.Writes != 0 {
		t.Errorf("%d transactions without the plugin's configuration", engine.Writes)
	}
	writeConfig(t, dir, conflist)
	pod.Status.InitContainerStatuses[0].RestartCount = 2
	h.updateStatus(pod)
	h.eventually("a repair", func() bool { return counterValue(h.m.PodsRepaired) == 1 })
	if engine.Writes != 1 {
		t.Errorf("%d transactions, want 1", engine.Writes)
	}
}

// TestInPlaceUnmeshedPod: a pod the plugin would not program (no proxy
// container) is left alone, not retried, with no event.
func TestInPlaceUnmeshedPod(t *testing.T) {
	pod, ns := annotated("job", failed(95, 1))
	pod.Spec.Containers = []corev1.Container{{Name: "app"}}
	conf := writeConfig(t, t.TempDir(), conflist)
	h, rt, engine := newInPlace(t, pod, ns, conf, "/x", 0)
	h.start()
	h.eventually("the runtime is asked", func() bool { rt.mu.Lock(); defer rt.mu.Unlock(); return rt.lists == 1 })
	h.settle()
	assertCounts(t, h, counts{})
	if engine.Writes != 0 || len(h.events()) != 0 || rt.lists != 1 {
		t.Errorf("writes %d, events %d, runtime lookups %d: want 0, 0, 1", engine.Writes, len(h.events()), rt.lists)
	}
}

// TestInPlaceReplacedPod: the API's pod of that name has another UID (a new
// pod): its annotations must not configure the old pod's namespace.
func TestInPlaceReplacedPod(t *testing.T) {
	pod, _ := annotated("web", failed(95, 1))
	api := samePod{Kube: clientset.Adapt(newHarness(t, Options{}, pod).client), uid: "uid-old"}
	if _, err := api.Pod(context.Background(), "app", "web"); !errors.Is(err, ErrPodReplaced) {
		t.Fatalf("error %v, want ErrPodReplaced", err)
	}
}

func TestLoadCNISettings(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := LoadCNISettings(dir); !errors.Is(err, ErrNoPluginConfig) {
		t.Errorf("empty directory: %v, want ErrNoPluginConfig", err)
	}
	os.WriteFile(filepath.Join(dir, "05-other.conflist"), []byte(noPluginYet), 0o644)
	p := writeConfig(t, dir, conflist)
	s, used, err := LoadCNISettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if used != p {
		t.Errorf("used %s, want %s (the first file with the plugin's entry)", used, p)
	}
	if s.Base.InboundProxyPort != 4143 || s.Base.ProxyUID != 2102 || !s.Base.IPv6 || s.Conf.CNIVersion != "1.0.0" || s.Conf.Name != "k8s-pod-network" {
		t.Errorf("settings %+v", s)
	}
	bad := writeConfig(t, t.TempDir(), `{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"linkerd-cni","linkerd":{"incoming-proxy-port":70000}}]}`)
	if _, _, err := LoadCNISettings(bad); err == nil || !bytes.Contains([]byte(err.Error()), []byte("linkerd.incoming-proxy-port")) {
		t.Errorf("bad entry: %v, want an error naming linkerd.incoming-proxy-port", err)
	}
}

// TestOneRunReportedThreeWays: the kubelet reports one failed validator run
// as terminated, then waiting with it as lastState, then (restarted, the
// restart count up) running with it still as lastState: one repair, acted
// on at the first report. A later run that fails again is repaired again.
func TestOneRunReportedThreeWays(t *testing.T) {
	pod, ns := annotated("web")
	exited := &corev1.ContainerStateTerminated{ExitCode: 95, ContainerID: "containerd://run-1"}
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: ValidatorName, RestartCount: 0,
		State: corev1.ContainerState{Terminated: exited}}}
	conf := writeConfig(t, t.TempDir(), conflist)
	h, _, _ := newInPlace(t, pod, ns, conf, "/var/run/netns/cni-web", 0)
	h.start()
	h.eventually("the repair of the just-exited run", func() bool { return counterValue(h.m.PodsRepaired) == 1 })
	st := &pod.Status.InitContainerStatuses[0]
	st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	st.LastTerminationState = corev1.ContainerState{Terminated: exited}
	h.updateStatus(pod)
	h.settle()
	st.RestartCount = 1
	st.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	h.updateStatus(pod)
	h.settle()
	if n := counterValue(h.m.PodsRepaired); n != 1 {
		t.Fatalf("%v repairs for one run reported three ways, want 1", n)
	}
	st.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 95, ContainerID: "containerd://run-2"}}
	h.updateStatus(pod)
	h.eventually("the repair of the next failed run", func() bool { return counterValue(h.m.PodsRepaired) == 2 })
	h.settle()
	assertCounts(t, h, counts{repaired: 2})
	if n := len(h.events()); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

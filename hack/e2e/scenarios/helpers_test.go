package scenarios

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/hack/e2e/cluster"
	"github.com/proxy-init/netlink-native/hack/e2e/images"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Ports of the app and the stand-in proxy, and the ports the scenarios
// exempt. appPort is redirected; ctlPort is an ignored inbound port through
// which the test asks the app to dial out; skipOutPort is an ignored
// outbound port the node listens on.
const (
	appPort       = 8080
	ctlPort       = 9090
	inboundPort   = 4143
	outPort       = 4140
	skipOutPort   = 5432
	redirPort     = 7777
	cniPluginName = "proxy-init-cni"
)

// injectorMeta is what Linkerd's injector adds to a meshed pod's metadata.
func injectorMeta(name string, annotations map[string]string) metav1.ObjectMeta {
	a := map[string]string{
		"linkerd.io/inject":            "enabled",
		"linkerd.io/created-by":        "linkerd/proxy-injector stable-2.19.0",
		"linkerd.io/proxy-version":     "stable-2.19.0",
		"linkerd.io/trust-root-sha256": "0000000000000000000000000000000000000000000000000000000000000000",
	}
	for k, v := range annotations {
		a[k] = v
	}
	return metav1.ObjectMeta{Name: name, Annotations: a, Labels: map[string]string{
		"app":                         name,
		"linkerd.io/control-plane-ns": "linkerd",
		"linkerd.io/workload-ns":      "default",
		"linkerd.io/proxy-deployment": name,
	}}
}

// restricted is the most restricted securityContext a container can have
// here: non-root uid, no privilege escalation, read-only root, no
// capabilities, the runtime's seccomp profile.
func restricted(uid int64) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsUser: ptr.To(uid), RunAsGroup: ptr.To(uid), RunAsNonRoot: ptr.To(uid != 0),
		AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true), Privileged: ptr.To(false),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// proxyContainer is the stand-in proxy as the injector names it.
func proxyContainer() corev1.Container {
	return corev1.Container{Name: "linkerd-proxy", Image: images.Standin, ImagePullPolicy: corev1.PullNever,
		Args:            []string{fmt.Sprintf("-ports=%d,%d", inboundPort, outPort)},
		SecurityContext: restricted(images.ProxyUID)}
}

// appContainer is the plain app, serving appPort and ctlPort.
func appContainer() corev1.Container {
	return corev1.Container{Name: "app", Image: images.App, ImagePullPolicy: corev1.PullNever,
		Args: []string{fmt.Sprintf("-listen=%d,%d", appPort, ctlPort)}, SecurityContext: restricted(1000)}
}

// validatorContainer is linkerd-network-validator as the injector writes it
// in CNI mode, with `proxy-init validate` for upstream's binary. Its connect
// address is the node's (inside the test's namespaces): redirected, the
// connection lands on its own listener; not redirected, the node refuses it.
func validatorContainer() corev1.Container {
	return corev1.Container{Name: "linkerd-network-validator", Image: images.ProxyInit, ImagePullPolicy: corev1.PullNever,
		Command: []string{"/proxy-init", "validate"},
		Args: []string{"--log-format=plain", "--log-level=info", "--connect-addr=" + c.NodeIP() + ":20001",
			fmt.Sprintf("--listen-addr=0.0.0.0:%d", outPort), "--timeout=10s"},
		SecurityContext: restricted(65534)}
}

// createPod creates pod (in its namespace, default when empty) and waits
// until it is Ready; the pod is deleted when the test ends.
func createPod(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	pod.Spec.TerminationGracePeriodSeconds = ptr.To(int64(0))
	if _, err := c.Client().CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	t.Cleanup(func() { deletePod(t, pod.Namespace, pod.Name) })
	p, err := c.WaitPod(ctx, pod.Namespace, pod.Name, 90*time.Second, cluster.PodReady)
	if err != nil {
		t.Fatalf("%v\n%s", err, podReport(p))
	}
	return p
}

// deletePod deletes a pod at once and waits until it is gone.
func deletePod(t testing.TB, ns, name string) {
	ctx := context.Background()
	err := c.Client().CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
	if cluster.IgnoreNotFound(err) != nil {
		t.Errorf("delete pod %s/%s: %v", ns, name, err)
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Client().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}); cluster.IgnoreNotFound(err) == nil && err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("pod %s/%s still there 60 s after its deletion", ns, name)
}

// podReport summarises a pod's status for a failure message.
func podReport(p *corev1.Pod) string {
	if p == nil {
		return "(no pod)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "pod %s/%s phase %s", p.Namespace, p.Name, p.Status.Phase)
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, "\n  %s: ready=%v restarts=%d state=%s last=%s", cs.Name, cs.Ready, cs.RestartCount, stateString(cs.State), stateString(cs.LastTerminationState))
	}
	return b.String()
}

func stateString(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Waiting != nil:
		return "waiting(" + s.Waiting.Reason + ": " + s.Waiting.Message + ")"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated(exit %d %s)", s.Terminated.ExitCode, s.Terminated.Reason)
	}
	return "-"
}

// ask sends one line to addr from inside the node and returns the answer
// (or the error, as "error: ...", so that a check can compare it).
func ask(addr, line string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.Node().DialContext(ctx, "tcp", addr)
	if err != nil {
		return "error: connect: " + err.Error()
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(conn, line)
	s, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "error: read: " + err.Error()
	}
	return strings.TrimSpace(s)
}

// nodeListener listens on the node's address at port and answers every
// connection "node PORT"; it counts the connections it got.
type nodeListener struct {
	ln    net.Listener
	count chan struct{}
}

func listenOnNode(t *testing.T, port int) *nodeListener {
	t.Helper()
	ln, err := c.Node().Listen("tcp", fmt.Sprintf("%s:%d", c.NodeIP(), port))
	if err != nil {
		t.Fatalf("listen in the node on %d: %v", port, err)
	}
	l := &nodeListener{ln: ln, count: make(chan struct{}, 100)}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			l.count <- struct{}{}
			fmt.Fprintf(conn, "node %d\n", port)
			conn.Close()
		}
	}()
	return l
}

func (l *nodeListener) connections() int { return len(l.count) }

// tables lists the nf_tables tables of a pod's network namespace (nft, run
// by the test, only to look).
func tables(t *testing.T, podIP string) string {
	t.Helper()
	ns, err := c.PodNetNS(podIP)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nsenter", "--net="+ns, "nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables in %s: %v: %s", ns, err, out)
	}
	return string(out)
}

// redirectionProblems checks what a meshed pod's traffic must do and
// returns every deviation: its app port lands on the proxy's inbound port
// with the pod's address as original destination; the ignored control port
// reaches the app; the app's outbound connection lands on the proxy's
// outbound port with the node's address as original destination (the
// node's listener never sees it); the ignored outbound port skipOut reaches
// the node.
func redirectionProblems(t *testing.T, podIP string, skipOut int) []string {
	t.Helper()
	var p []string
	app := fmt.Sprintf("%s:%d", podIP, appPort)
	if got, want := ask(app, "HELLO"), fmt.Sprintf("proxy %d %s", inboundPort, app); got != want {
		p = append(p, fmt.Sprintf("inbound to %s: answer %q, want %q (the stand-in proxy naming the original destination)", app, got, want))
	}
	ctl := fmt.Sprintf("%s:%d", podIP, ctlPort)
	if got := ask(ctl, "HELLO"); !strings.HasPrefix(got, "app ") {
		p = append(p, fmt.Sprintf("inbound to the ignored port %s: answer %q, want the app's", ctl, got))
	}
	redir := listenOnNode(t, redirPort)
	defer redir.ln.Close()
	dst := fmt.Sprintf("%s:%d", c.NodeIP(), redirPort)
	if got, want := ask(ctl, "DIAL "+dst), fmt.Sprintf("dialed proxy %d %s", outPort, dst); got != want {
		p = append(p, fmt.Sprintf("outbound from the app to %s: answer %q, want %q", dst, got, want))
	}
	if n := redir.connections(); n != 0 {
		p = append(p, fmt.Sprintf("the node got %d connection(s) the rules should have sent to the proxy", n))
	}
	skip := listenOnNode(t, skipOut)
	defer skip.ln.Close()
	dst = fmt.Sprintf("%s:%d", c.NodeIP(), skipOut)
	if got, want := ask(ctl, "DIAL "+dst), fmt.Sprintf("dialed node %d", skipOut); got != want {
		p = append(p, fmt.Sprintf("outbound from the app to the ignored port %s: answer %q, want %q", dst, got, want))
	}
	if n := skip.connections(); n != 1 {
		p = append(p, fmt.Sprintf("the node got %d connection(s) on the ignored outbound port %d, want 1", n, skipOut))
	}
	return p
}

// checkRedirected fails the test on every redirectionProblems entry.
func checkRedirected(t *testing.T, podIP string, skipOut int) {
	t.Helper()
	for _, p := range redirectionProblems(t, podIP, skipOut) {
		t.Error(p)
	}
}

// checkNotRedirected asserts an unmeshed pod's traffic goes where it is sent.
func checkNotRedirected(t *testing.T, podIP string) {
	t.Helper()
	app := fmt.Sprintf("%s:%d", podIP, appPort)
	if got := ask(app, "HELLO"); !strings.HasPrefix(got, "app ") {
		t.Errorf("inbound to %s of an unmeshed pod: answer %q, want the app's", app, got)
	}
	l := listenOnNode(t, redirPort)
	defer l.ln.Close()
	dst := fmt.Sprintf("%s:%d", c.NodeIP(), redirPort)
	if got, want := ask(fmt.Sprintf("%s:%d", podIP, ctlPort), "DIAL "+dst), fmt.Sprintf("dialed node %d", redirPort); got != want {
		t.Errorf("outbound from an unmeshed pod to %s: answer %q, want %q", dst, got, want)
	}
	if n := l.connections(); n != 1 {
		t.Errorf("the node got %d connection(s) from the unmeshed pod, want 1", n)
	}
}

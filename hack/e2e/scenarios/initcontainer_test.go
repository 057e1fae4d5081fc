package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/hack/e2e/images"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// initArgs are proxy-init's flags as Linkerd's injector passes them, with
// the control port and one outbound port ignored.
func initArgs() []string {
	return []string{
		fmt.Sprintf("--incoming-proxy-port=%d", inboundPort), fmt.Sprintf("--outgoing-proxy-port=%d", outPort),
		fmt.Sprintf("--proxy-uid=%d", images.ProxyUID), fmt.Sprintf("--inbound-ports-to-ignore=4190,4191,%d", ctlPort),
		fmt.Sprintf("--outbound-ports-to-ignore=%d", skipOutPort), "--log-format=json",
	}
}

// initContainer is linkerd-init with only NET_ADMIN, otherwise restricted.
func initContainer(image string, uid int64) corev1.Container {
	sc := restricted(uid)
	sc.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
	return corev1.Container{Name: "linkerd-init", Image: image, ImagePullPolicy: corev1.PullNever, Args: initArgs(), SecurityContext: sc}
}

// TestInitContainerMode: a pod shaped like the injector's output, with our
// image as linkerd-init, for both images: the root variant (nonroot image
// run as uid 0) and the netadmin variant (uid 65534, file capability).
func TestInitContainerMode(t *testing.T) {
	for _, v := range []struct {
		name  string
		image string
		uid   int64
	}{{"root", images.ProxyInit, 0}, {"netadmin", images.ProxyInitNetAdmin, 65534}} {
		t.Run(v.name, func(t *testing.T) {
			name := "init-" + v.name
			pod := &corev1.Pod{ObjectMeta: injectorMeta(name, nil), Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{initContainer(v.image, v.uid)},
				Containers:     []corev1.Container{proxyContainer(), appContainer()},
			}}
			p := createPod(t, pod)
			ic := p.Status.InitContainerStatuses
			if len(ic) != 1 || ic[0].State.Terminated == nil || ic[0].State.Terminated.ExitCode != 0 {
				t.Fatalf("linkerd-init did not exit 0:\n%s", podReport(p))
			}
			if !strings.Contains(tables(t, p.Status.PodIP), "table ip proxy_init") {
				t.Errorf("no table ip proxy_init in the pod's namespace")
			}
			checkRedirected(t, p.Status.PodIP, skipOutPort)
			// The same inbound check from another pod, as a real client.
			addr := fmt.Sprintf("%s:%d", p.Status.PodIP, appPort)
			if got, want := clientPod(t, "client-"+v.name, addr), fmt.Sprintf("proxy %d %s", inboundPort, addr); got != want {
				t.Errorf("client pod to %s: answer %q, want %q", addr, got, want)
			}
		})
	}
}

// clientPod runs a pod that connects to addr once and returns what it
// printed (its log, read through the API).
func clientPod(t *testing.T, name, addr string) string {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PodSpec{
		RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "client", Image: images.App, ImagePullPolicy: corev1.PullNever,
			Args: []string{"-dial=" + addr}, SecurityContext: restricted(1000)}},
	}}
	if _, err := c.Client().CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create client pod: %v", err)
	}
	t.Cleanup(func() { deletePod(t, "default", name) })
	p, err := c.WaitPod(ctx, "default", name, 60*time.Second, func(p *corev1.Pod) (bool, error) {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, podReport(p))
	}
	logs, err := c.Client().CoreV1().Pods("default").GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("read the client pod's log: %v", err)
	}
	return strings.TrimSpace(string(logs))
}

package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/hack/e2e/cluster"
	"github.com/proxy-init/netlink-native/hack/e2e/images"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// linkerdCNIRules are the rules of linkerd-cni's ClusterRole (charts/
// linkerd2-cni/templates/cni-plugin.yaml, repair controller off): the
// plugin's kubeconfig grants nothing more.
var linkerdCNIRules = []rbacv1.PolicyRule{{
	APIGroups: []string{""}, Resources: []string{"pods", "nodes", "namespaces", "services"},
	Verbs: []string{"list", "get", "watch"},
}}

// pluginConf is our plugin's entry in the conflist, as linkerd-cni's
// installer writes it from the chart's defaults.
func pluginConf(kubeconfig string) string {
	b, _ := json.Marshal(map[string]any{
		"type": cniPluginName, "name": "linkerd-cni", "log_level": "debug",
		"kubernetes": map[string]any{"kubeconfig": kubeconfig},
		"linkerd": map[string]any{
			"incoming-proxy-port": inboundPort, "outgoing-proxy-port": outPort, "proxy-uid": images.ProxyUID,
			"ports-to-redirect": []int{}, "inbound-ports-to-ignore": []string{"4191", "4190"},
			"simulate": false, "use-wait-flag": false, "iptables-mode": "legacy", "ipv6": false,
		},
	})
	return string(b)
}

// useCNIPlugin chains our plugin after the bridge in containerd's conflist
// for the rest of the test (then restores the plain bridge); it returns the
// plugin's entry.
func useCNIPlugin(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	kc, err := c.ServiceAccountKubeconfig(ctx, "linkerd-cni", "linkerd-cni", linkerdCNIRules)
	if err != nil {
		t.Fatal(err)
	}
	conf := pluginConf(kc)
	setCNIConfig(t, cluster.CNIConfig(conf), []string{cniPluginName}, nil)
	t.Cleanup(func() { setCNIConfig(t, cluster.DefaultCNIConfig(), nil, []string{cniPluginName}) })
	return conf
}

func setCNIConfig(t testing.TB, conf []byte, want, unwanted []string) {
	t.Helper()
	if err := c.WriteCNIConfig(conf); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitCNIConfig(context.Background(), want, unwanted); err != nil {
		t.Fatal(err)
	}
}

// meshedCNIPod is a pod as the injector writes it in CNI mode: the
// validator first, then linkerd-proxy and the app.
func meshedCNIPod(name, ns string, annotations map[string]string) *corev1.Pod {
	meta := injectorMeta(name, annotations)
	meta.Namespace = ns
	return &corev1.Pod{ObjectMeta: meta, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{validatorContainer()},
		Containers:     []corev1.Container{proxyContainer(), appContainer()},
	}}
}

// createNamespace creates a namespace and waits for its default service
// account (pod creation is refused before).
func createNamespace(t *testing.T, name string, annotations map[string]string) {
	t.Helper()
	ctx := context.Background()
	_, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = c.Client().CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Client().CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("namespace %s has no default service account after 30 s", name)
}

// validatorExit0 asserts the validator ran and exited 0.
func validatorExit0(t *testing.T, p *corev1.Pod) {
	t.Helper()
	ic := p.Status.InitContainerStatuses
	if len(ic) != 1 || ic[0].Name != "linkerd-network-validator" || ic[0].State.Terminated == nil || ic[0].State.Terminated.ExitCode != 0 {
		t.Fatalf("the validator did not exit 0:\n%s", podReport(p))
	}
}

// TestCNIMode: proxy-init-cni chained after the bridge in containerd's
// conflist, reading the real API with linkerd-cni's permissions only.
func TestCNIMode(t *testing.T) {
	useCNIPlugin(t)
	const skipNS, skipPod = 5433, 5434

	t.Run("meshed-pod-annotations", func(t *testing.T) {
		p := createPod(t, meshedCNIPod("cni-meshed", "default", map[string]string{
			"config.linkerd.io/skip-inbound-ports":  fmt.Sprint(ctlPort),
			"config.linkerd.io/skip-outbound-ports": fmt.Sprint(skipOutPort),
		}))
		validatorExit0(t, p)
		if !strings.Contains(tables(t, p.Status.PodIP), "table ip proxy_init") {
			t.Errorf("no table ip proxy_init in the meshed pod's namespace")
		}
		checkRedirected(t, p.Status.PodIP, skipOutPort)
	})

	t.Run("namespace-annotations", func(t *testing.T) {
		createNamespace(t, "cni-annotated", map[string]string{
			"config.linkerd.io/skip-inbound-ports":  fmt.Sprint(ctlPort),
			"config.linkerd.io/skip-outbound-ports": fmt.Sprint(skipNS),
		})
		p := createPod(t, meshedCNIPod("cni-ns", "cni-annotated", nil))
		validatorExit0(t, p)
		checkRedirected(t, p.Status.PodIP, skipNS)

		// A pod's own annotation wins over its namespace's.
		p = createPod(t, meshedCNIPod("cni-pod-wins", "cni-annotated", map[string]string{
			"config.linkerd.io/skip-outbound-ports": fmt.Sprint(skipPod),
		}))
		validatorExit0(t, p)
		checkRedirected(t, p.Status.PodIP, skipPod)
	})

	t.Run("unmeshed", func(t *testing.T) {
		p := createPod(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cni-plain", Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{appContainer()}}})
		if tb := tables(t, p.Status.PodIP); strings.Contains(tb, "proxy_init") {
			t.Errorf("an unmeshed pod got our tables:\n%s", tb)
		}
		checkNotRedirected(t, p.Status.PodIP)
	})

	// Without our plugin in the conflist nothing redirects: the validator
	// exits 95 and the pod never starts, as kubelet records it.
	t.Run("validator-95-without-plugin", func(t *testing.T) {
		setCNIConfig(t, cluster.DefaultCNIConfig(), nil, []string{cniPluginName})
		ctx := context.Background()
		pod := meshedCNIPod("cni-unprotected", "default", nil)
		if _, err := c.Client().CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer deletePod(t, "default", pod.Name)
		p, err := c.WaitPod(ctx, "default", pod.Name, 60*time.Second, func(p *corev1.Pod) (bool, error) {
			for _, s := range p.Status.InitContainerStatuses {
				for _, st := range []corev1.ContainerState{s.State, s.LastTerminationState} {
					if st.Terminated != nil && st.Terminated.ExitCode == 95 {
						return true, nil
					}
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("the validator's exit 95 never showed: %v\n%s", err, podReport(p))
		}
		if p.Status.Phase != corev1.PodPending || len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil {
			t.Errorf("the pod went on after the validator's exit 95:\n%s", podReport(p))
		}
		t.Logf("as kubelet records it: %s", podReport(p))
		useCNIPlugin(t)
	})
}

package cluster

import (
	"context"
	"os"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestControlPlaneOnly boots etcd, kube-apiserver and
// kube-controller-manager only, as API-level tests (the repair
// controller's) use it: the API answers, a service account's kubeconfig
// has exactly the rules given, and Stop leaves no process behind.
func TestControlPlaneOnly(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	c, err := Start(ctx, Options{ControlPlaneOnly: true, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, ok := c.daemons["kubelet"]; ok {
		t.Errorf("kubelet runs in control-plane-only mode")
	}
	kc, err := c.ServiceAccountKubeconfig(ctx, "e2e", "reader", []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dial = c.Node().DialContext
	cs := kubernetes.NewForConfigOrDie(cfg)
	if _, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the service account cannot list pods: %v", err)
	}
	if _, err := cs.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{}); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("the service account may list secrets it was not granted: %v", err)
	}
	dir := c.Dir()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the run directory %s is still there", dir)
	}
	for _, d := range c.daemons {
		if processAlive(d.pid) {
			t.Errorf("%s (pid %d) still runs after Stop", d.name, d.pid)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

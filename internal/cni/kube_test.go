package cni

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/proxy-init/netlink-native/internal/kubefake"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
)

const secret = "s3cr3t-token-value"

func kubeconfig(t *testing.T, contexts, current string) string {
	t.Helper()
	body := `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
users:
- name: u
  user: {token: ` + secret + `}
contexts:
` + contexts + `current-context: ` + current + "\n"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRESTConfigContext: linkerd-cni-context is used when it exists, as
// upstream always selects it; otherwise the current context.
func TestRESTConfigContext(t *testing.T) {
	both := "- name: other\n  context: {cluster: a, user: u}\n- name: " + KubeContext + "\n  context: {cluster: b, user: u}\n"
	only := "- name: other\n  context: {cluster: a, user: u}\n"
	for _, c := range []struct{ contexts, current, host string }{
		{both, "other", "https://b.example:6443"},
		{only, "other", "https://a.example:6443"},
	} {
		cfg, err := RESTConfig(kubeconfig(t, c.contexts, c.current), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Host != c.host || cfg.BearerToken != secret || cfg.Timeout != 3*time.Second {
			t.Errorf("host %s token set %v timeout %v, want %s", cfg.Host, cfg.BearerToken == secret, cfg.Timeout, c.host)
		}
	}
}

func TestRESTConfigErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("users:\n- name: u\n  user: {token: "+secret+"\n  oops: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noCurrent := kubeconfig(t, "- name: other\n  context: {cluster: a, user: u}\n", "missing")
	for _, path := range []string{"", "/nonexistent/kubeconfig", bad, noCurrent} {
		_, err := RESTConfig(path, time.Second)
		te, ok := err.(*types.Error)
		if !ok || te.Code != types.ErrInvalidNetworkConfig || !strings.Contains(te.Msg, "kubernetes.kubeconfig") {
			t.Errorf("%q: %v, want code 7 naming kubernetes.kubeconfig", path, err)
			continue
		}
		if strings.Contains(te.Msg, secret) {
			t.Errorf("%q: the error shows the token: %s", path, te.Msg)
		}
		t.Logf("%q: %s", path, te.Msg)
	}
}

// TestRESTAPIRefusesAnotherKind: an API answer of 200 that is not a Pod ({},
// null, another kind) is an error (code 100), not a pod without a
// linkerd-proxy container that would start unmeshed; a Pod decodes.
func TestRESTAPIRefusesAnotherKind(t *testing.T) {
	pod := `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web","namespace":"emojivoto"},` +
		`"spec":{"containers":[{"name":"web"},{"name":"linkerd-proxy"}]}}`
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{pod, true},
		{`{}`, false},
		{`null`, false},
		{`{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"emojivoto"}}`, false},
		{`{"kind":"PodList","apiVersion":"v1","items":[]}`, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(c.body))
		}))
		api, err := NewAPI(&rest.Config{Host: srv.URL, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		p, err := api.Pod(context.Background(), "emojivoto", "web")
		srv.Close()
		if c.ok {
			if err != nil || !hasProxy(&p.Spec) {
				t.Errorf("%s: %v, want a meshed pod", c.body, err)
			}
			continue
		}
		var te *types.Error
		if err == nil || !errors.As(apiError(err), &te) || te.Code != CodeAPIRefused {
			t.Errorf("%s: pod %+v, error %v; want code %d", c.body, p, err, CodeAPIRefused)
		}
	}
}

// TestRESTAPIDecide runs Decide on the production REST client against
// kubefake: the fields the client decodes by hand (labels, annotations of
// the pod and its namespace, the Service's ports and integer target ports)
// reach the decision as client-go's typed objects would.
func TestRESTAPIDecide(t *testing.T) {
	kube := kubefake.NewHTTP()
	defer kube.Close()
	cp := meshed("web", map[string]string{AnnotationSkipInbound: "8080"})
	cp.Labels = map[string]string{ControlPlaneLabel: "destination"}
	kube.AddPod(cp)
	kube.AddNamespace(namespace(map[string]string{AnnotationProxyUID: "3000", AnnotationSkipOutbound: "25"}))
	kube.AddService(&corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Port: 443, TargetPort: intstr.FromInt32(6443)},
			{Port: 8443, TargetPort: intstr.FromString("https")},
		}},
	})
	api, err := NewAPI(&rest.Config{Host: kube.URL(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decide(context.Background(), api, PodRef{"emojivoto", "web"}, base(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	want := base()
	want.InboundPortsToIgnore = append(want.InboundPortsToIgnore, ports(t, "8080")...)
	want.OutboundPortsToIgnore = ports(t, "25,443,6443,8443")
	want.ProxyUID = 3000
	if !d.Mesh || !reflect.DeepEqual(d.Config, want) {
		t.Errorf("decision %v %s\n got %+v\nwant %+v", d.Mesh, d.Reason, d.Config, want)
	}
	if n := kube.Requests(kubefake.NamespacePath("emojivoto")); n != 1 {
		t.Errorf("namespace read %d times, want 1", n)
	}
}

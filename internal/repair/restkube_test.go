package repair

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// restServer serves canned JSON answers on a unix socket (no network
// namespace involved) and records the requests.
func restServer(t *testing.T, answers map[string]string) (Kube, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.URL.Path
		mu.Lock()
		seen = append(seen, key+"?"+r.URL.RawQuery+" "+r.Header.Get("Content-Type")+" "+string(body[:min(len(body), 4)]))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		a, ok := answers[key]
		if !ok {
			a = `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`
		}
		var st struct {
			Code int `json:"code"`
		}
		if json.Unmarshal([]byte(a), &st) == nil && st.Code >= 400 {
			w.WriteHeader(st.Code) // a failure Status comes with its code
		}
		io.WriteString(w, a)
	}))
	sock := filepath.Join(t.TempDir(), "api.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: "http://apiserver", Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	k, err := NewKube(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRESTKube: the binary's client asks the paths the typed clients ask,
// in protobuf, decodes JSON answers, and decodes API errors as Status
// errors (classified by type: NotFound, Conflict).
func TestRESTKube(t *testing.T) {
	pod := newPod("web", failed(95, 1))
	pod.APIVersion, pod.Kind = "v1", "Pod"
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}, ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: []corev1.Pod{*pod}}
	ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: "app", Annotations: map[string]string{"a": "b"}}}
	svc := &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443}}}}
	k, seen := restServer(t, map[string]string{
		"GET /api/v1/pods":                                   jsonOf(t, list),
		"GET /api/v1/namespaces/app/pods/web":                jsonOf(t, pod),
		"GET /api/v1/namespaces/app":                         jsonOf(t, ns),
		"GET /api/v1/namespaces/default/services/kubernetes": jsonOf(t, svc),
		"DELETE /api/v1/namespaces/app/pods/web":             `{"kind":"Status","apiVersion":"v1","status":"Success"}`,
		"DELETE /api/v1/namespaces/app/pods/new":             `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Conflict","code":409}`,
		"POST /apis/events.k8s.io/v1/namespaces/app/events":  jsonOf(t, &eventsv1.Event{TypeMeta: metav1.TypeMeta{APIVersion: "events.k8s.io/v1", Kind: "Event"}}),
	})
	ctx := context.Background()
	l, err := k.ListPods(ctx, metav1.ListOptions{LabelSelector: DataPlaneLabel, FieldSelector: "spec.nodeName=n"})
	if err != nil || len(l.Items) != 1 || l.Items[0].UID != pod.UID || l.ResourceVersion != "7" {
		t.Errorf("ListPods: %v %+v", err, l)
	}
	if p, err := k.Pod(ctx, "app", "web"); err != nil || p.Status.InitContainerStatuses[0].LastTerminationState.Terminated.ExitCode != 95 {
		t.Errorf("Pod: %v", err)
	}
	if n, err := k.Namespace(ctx, "app"); err != nil || n.Annotations["a"] != "b" {
		t.Errorf("Namespace: %v %+v", err, n)
	}
	if s, err := k.Service(ctx, "default", "kubernetes"); err != nil || s.Spec.Ports[0].Port != 443 {
		t.Errorf("Service: %v", err)
	}
	uid := types.UID("uid-web")
	if err := k.DeletePod(ctx, "app", "web", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil {
		t.Errorf("DeletePod: %v", err)
	}
	if err := k.DeletePod(ctx, "app", "new", metav1.DeleteOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("DeletePod of a replaced pod: %v, want a Conflict", err)
	}
	if err := k.DeletePod(ctx, "app", "gone", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("DeletePod of a missing pod: %v, want NotFound", err)
	}
	if err := k.CreateEvent(ctx, newEvent(pod, eventDeleted, "me", testTime)); err != nil {
		t.Errorf("CreateEvent: %v", err)
	}
	got := strings.Join(seen(), "\n")
	for _, want := range []string{
		"GET /api/v1/pods?fieldSelector=spec.nodeName%3Dn&labelSelector=linkerd.io%2Fcontrol-plane-ns",
		"DELETE /api/v1/namespaces/app/pods/web? application/vnd.kubernetes.protobuf k8s\x00",
		"POST /apis/events.k8s.io/v1/namespaces/app/events? application/vnd.kubernetes.protobuf k8s\x00",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no request %q among\n%s", want, got)
		}
	}
	if _, ok := k.(interface{ IsWatchListSemanticsUnSupported() bool }); ok {
		t.Error("the REST client claims it cannot stream lists; a real API server can")
	}
}

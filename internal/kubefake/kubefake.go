// Package kubefake is a small Kubernetes API server for tests and
// benchmarks: it serves Pod, Namespace and Service objects (k8s.io/api
// types) over HTTPS on loopback, checks a bearer token, counts requests and
// can misbehave on demand (500, 404, garbage, hanging), and writes a
// kubeconfig that points client-go at it. It is what the CNI plugin's tests
// and the benchmark drive the plugin against, since there is no Kubernetes
// here.
//
// It is not a second copy of client-go's fake clientset, which
// internal/cni's unit tests use: that one answers the cni.API interface in
// the test's process, for the per-pod decisions; this one is a server on a
// socket, for the plugin binary as a runtime execs it (kubeconfig, TLS,
// bearer token, timeouts, a server that misbehaves), which no in-process
// fake can exercise.
package kubefake

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Fault is how the server misbehaves.
type Fault int

const (
	// Healthy serves the objects.
	Healthy Fault = iota
	// InternalError answers every request with a 500 Status.
	InternalError
	// NotFound answers every request with a 404 Status.
	NotFound
	// Garbage answers 200 with a body that is not a Kubernetes object.
	Garbage
	// Hang never answers; the request ends when the client gives up or the
	// server is closed.
	Hang
)

// Token is the bearer token the kubeconfig carries and the server requires.
const Token = "kubefake-secret-token"

// Server is a running fake API server. Close it when done.
type Server struct {
	srv     *httptest.Server
	mu      sync.Mutex
	objects map[string][]byte
	fault   Fault
	counts  map[string]int
	closing chan struct{}
	once    sync.Once
}

// New starts an HTTPS server on 127.0.0.1 (in the caller's network
// namespace), as API servers are.
func New() *Server { return start(true) }

// NewHTTP starts a plain-HTTP server, for measuring the plugin without the
// TLS handshake (as a fake API may have been served for another plugin). It
// requires no token: client-go sends none over plain HTTP.
func NewHTTP() *Server { return start(false) }

func start(tls bool) *Server {
	s := &Server{objects: map[string][]byte{}, counts: map[string]int{}, closing: make(chan struct{})}
	if tls {
		s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	} else {
		s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	}
	return s
}

// URL is the server's https:// (or http://) address.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server, releasing hanging requests first.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.srv.Close()
}

// SetFault changes how every following request is answered.
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// PodPath, NamespacePath and ServicePath are the API paths of the objects,
// as Requests counts them.
func PodPath(ns, name string) string     { return "/api/v1/namespaces/" + ns + "/pods/" + name }
func NamespacePath(name string) string   { return "/api/v1/namespaces/" + name }
func ServicePath(ns, name string) string { return "/api/v1/namespaces/" + ns + "/services/" + name }

// AddPod serves pod (its Namespace and Name set) at its path.
func (s *Server) AddPod(pod *corev1.Pod) {
	pod.TypeMeta = metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}
	s.add(PodPath(pod.Namespace, pod.Name), pod)
}

// AddNamespace serves ns at its path.
func (s *Server) AddNamespace(ns *corev1.Namespace) {
	ns.TypeMeta = metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"}
	s.add(NamespacePath(ns.Name), ns)
}

// AddService serves svc at its path.
func (s *Server) AddService(svc *corev1.Service) {
	svc.TypeMeta = metav1.TypeMeta{Kind: "Service", APIVersion: "v1"}
	s.add(ServicePath(svc.Namespace, svc.Name), svc)
}

func (s *Server) add(path string, obj any) {
	b, err := json.Marshal(obj)
	if err != nil {
		panic(fmt.Sprintf("kubefake: marshal %s: %v", path, err)) // k8s.io/api types always marshal
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[path] = b
}

// Requests is how many requests reached path (authenticated or not).
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// TotalRequests is how many requests reached the server.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[r.URL.Path]++
	fault := s.fault
	obj, ok := s.objects[r.URL.Path]
	s.mu.Unlock()

	// client-go sends no bearer token to a plain-HTTP server.
	if s.srv.TLS != nil && r.Header.Get("Authorization") != "Bearer "+Token {
		status(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
		return
	}
	switch fault {
	case InternalError:
		status(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "kubefake: injected internal error")
		return
	case NotFound:
		ok = false
	case Garbage:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html>this is not the API server</html>"))
		return
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	}
	if r.Method != http.MethodGet || !ok {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/")
		status(w, http.StatusNotFound, metav1.StatusReasonNotFound,
			fmt.Sprintf("%s %q not found", parts[len(parts)-2], parts[len(parts)-1]))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(obj)
}

func status(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(&metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: msg, Reason: reason, Code: int32(code),
	})
}

// Context is the kubeconfig context WriteKubeconfig selects for the plugin
// (linkerd's installer writes the same name).
const Context = "linkerd-cni-context"

// WriteKubeconfig writes a kubeconfig for the server into dir, as linkerd's
// installer writes one for the plugin: the server's CA, the bearer token and
// the linkerd-cni-context context (not the current one, which points at a
// server that does not exist, so that a plugin that ignored the context would
// fail). It returns the file's path.
func (s *Server) WriteKubeconfig(dir string) (string, error) {
	cluster := map[string]any{"server": s.srv.URL}
	if s.srv.TLS != nil {
		cluster["certificate-authority-data"] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
	}
	cfg := map[string]any{
		"apiVersion": "v1", "kind": "Config",
		"clusters": []any{
			map[string]any{"name": "fake", "cluster": cluster},
			map[string]any{"name": "nowhere", "cluster": map[string]any{"server": "https://127.0.0.1:1"}},
		},
		"users": []any{map[string]any{"name": "linkerd-cni", "user": map[string]any{"token": Token}}},
		"contexts": []any{
			map[string]any{"name": Context, "context": map[string]any{"cluster": "fake", "user": "linkerd-cni"}},
			map[string]any{"name": "other", "context": map[string]any{"cluster": "nowhere", "user": "linkerd-cni"}},
		},
		"current-context": "other",
	}
	b, err := json.Marshal(cfg) // JSON is YAML
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, b, 0o600)
}

// MeshedPod is a pod as linkerd's injector leaves it in CNI mode: a
// linkerd-proxy container and no linkerd-init init container.
func MeshedPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "app"}, {Name: "linkerd-proxy", Image: "proxy"},
		}},
	}
}

// UnmeshedPod is a pod without a proxy, which the plugin passes through.
func UnmeshedPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}},
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// fakeAPI is the slice of a Kubernetes API server the controller uses:
// list and watch pods (the list held until released, to see /ready
// change), delete a pod, create an events.k8s.io/v1 event. It records
// the requests' query and bodies.
type fakeAPI struct {
	mu       sync.Mutex
	release  chan struct{}
	lists    []string // the list requests' queries
	deletes  []string // "path body"
	events   []string // bodies
	podsJSON string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods" && r.URL.Query().Get("watch") == "true":
		if r.URL.Query().Get("sendInitialEvents") == "true" {
			// An API server without streaming lists: the client falls
			// back to list then watch.
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"BadRequest","code":400}`)
			return
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a watch with nothing to say
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/pods":
		f.mu.Lock()
		f.lists = append(f.lists, r.URL.RawQuery)
		f.mu.Unlock()
		<-f.release
		fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"10"},"items":[%s]}`, f.podsJSON)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/"):
		f.mu.Lock()
		f.deletes = append(f.deletes, r.URL.Path+" "+string(body))
		f.mu.Unlock()
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Success"}`)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/apis/events.k8s.io/v1/namespaces/"):
		f.mu.Lock()
		f.events = append(f.events, string(body))
		f.mu.Unlock()
		// Echoed in the request's encoding (protobuf, client-go's
		// default for built-in types, or JSON).
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"%s %s"}`, r.Method, r.URL.Path)
	}
}

const brokenPod = `{"metadata":{"name":"broken","namespace":"app","uid":"uid-broken","resourceVersion":"9","labels":{"linkerd.io/control-plane-ns":"linkerd"}},
"spec":{"nodeName":"node-a","containers":[{"name":"linkerd-proxy"}]},
"status":{"initContainerStatuses":[{"name":"linkerd-network-validator","restartCount":2,"ready":false,"image":"x","imageID":"","state":{"waiting":{"reason":"CrashLoopBackOff"}},"lastState":{"terminated":{"exitCode":95,"reason":"Error","startedAt":null,"finishedAt":null}}}]}}`

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeKubeconfig writes dir/kubeconfig for the API server at server (a
// URL), with a bearer token unless token is empty; readable by all, for the
// test that runs the binary as nobody.
func writeKubeconfig(t testing.TB, dir, server, token string) string {
	t.Helper()
	user := "{}"
	if token != "" {
		user = "{token: " + token + "}"
	}
	path := filepath.Join(dir, "kubeconfig")
	body := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: %q}}]\nusers: [{name: u, user: %s}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n", server, user)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAgainstAPI runs the binary against the fake API on the node
// namespace's loopback: /live at once, /ready only once the pod list has
// come, the failing pod deleted with grace period 0 and its UID as
// precondition over the real REST encoding, the event created, the metrics
// served, and exit 0 on SIGTERM; all as nobody, with no capabilities.
func TestAgainstAPI(t *testing.T) {
	if !testns.InNodeNamespace() {
		testns.RequireRoot(t)
		t.Skip("needs the node namespace")
	}
	api := &fakeAPI{release: make(chan struct{}), podsJSON: brokenPod}
	srv := httptest.NewServer(api)
	defer srv.Close()
	defer func() {
		select {
		case <-api.release:
		default:
			close(api.release)
		}
	}()
	// The controller runs as nobody, as upstream's sidecar does (non-root,
	// no capabilities): its files must be readable by it.
	// (t.TempDir's parent is private to root.)
	dir, err := os.MkdirTemp("", "repair-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	kubeconfig := writeKubeconfig(t, dir, srv.URL, "secret-token-never-logged")
	admin := freePort(t)
	cmd := exec.Command(binary, append(required, "--kubeconfig", kubeconfig, "--admin-addr", admin, "--log-format", "json", "--log-level", "debug")...)
	cmd.Env = []string{"HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("controller stderr:\n%s", stderr.String())
		}
	}()
	base := "http://" + admin
	waitFor(t, "/live", func() bool { c, _ := get(base + "/live"); return c == 200 })
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)); err != nil ||
		!strings.Contains(string(st), "\nUid:\t65534\t") || !strings.Contains(string(st), "\nCapEff:\t0000000000000000\n") {
		t.Errorf("the controller is not running as nobody without capabilities (%v):\n%s", err, st)
	}
	if c, b := get(base + "/ready"); c != 500 || b != "not ready\n" {
		t.Errorf("/ready before the list: %d %q, want 500 \"not ready\"", c, b)
	}
	close(api.release)
	waitFor(t, "/ready", func() bool { c, _ := get(base + "/ready"); return c == 200 })
	waitFor(t, "an event", func() bool { api.mu.Lock(); defer api.mu.Unlock(); return len(api.events) == 1 })

	api.mu.Lock()
	if len(api.lists) == 0 || !strings.Contains(api.lists[0], "labelSelector=linkerd.io%2Fcontrol-plane-ns") || !strings.Contains(api.lists[0], "fieldSelector=spec.nodeName%3Dnode-a") {
		t.Errorf("list query %q lacks the selectors", api.lists)
	}
	if len(api.deletes) != 1 {
		t.Fatalf("deletes %v, want 1", api.deletes)
	}
	path, body, _ := strings.Cut(api.deletes[0], " ")
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(body), nil, nil)
	if err != nil {
		t.Fatalf("delete body %q: %v", body, err)
	}
	opts := obj.(*metav1.DeleteOptions)
	if path != "/api/v1/namespaces/app/pods/broken" || opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds != 0 ||
		opts.Preconditions == nil || opts.Preconditions.UID == nil || *opts.Preconditions.UID != "uid-broken" {
		t.Errorf("delete %s %+v", path, opts)
	}
	obj, _, err = scheme.Codecs.UniversalDeserializer().Decode([]byte(api.events[0]), nil, nil)
	if err != nil {
		t.Fatalf("event body: %v", err)
	}
	ev := obj.(*eventsv1.Event)
	if ev.Reason != "LinkerdCNINotConfigured" || ev.Action != "Deleting" || ev.ReportingController != "linkerd-cni-repair-controller" ||
		ev.ReportingInstance != "linkerd-cni-abcde" || ev.Type != "Normal" || ev.Regarding.Name != "broken" || ev.Regarding.UID != "uid-broken" {
		t.Errorf("event %+v", ev)
	}
	api.mu.Unlock()

	_, metrics := get(base + "/metrics")
	for _, line := range []string{
		"linkerd_cni_repair_controller_pods_deleted_total 1",
		"linkerd_cni_repair_controller_pods_delete_latency_seconds_count 1",
		"linkerd_cni_repair_controller_events_publish_latency_seconds_count 1",
		"linkerd_cni_repair_controller_queue_overflow_total 0",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
	if strings.Contains(stderr.String(), "secret-token-never-logged") {
		t.Error("the token was logged")
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("not a JSON log line: %q", l)
		}
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShutdownBeforeSync: SIGTERM while the API server has not answered the
// list is a clean shutdown (exit 0), and /ready said 500 until then.
func TestShutdownBeforeSync(t *testing.T) {
	if !testns.InNodeNamespace() {
		testns.RequireRoot(t)
		t.Skip("needs the node namespace")
	}
	api := &fakeAPI{release: make(chan struct{})}
	srv := httptest.NewServer(api)
	defer srv.Close()
	defer close(api.release)
	kubeconfig := writeKubeconfig(t, t.TempDir(), srv.URL, "")
	admin := freePort(t)
	cmd := exec.Command(binary, append(required, "--kubeconfig", kubeconfig, "--admin-addr", admin)...)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the list request", func() bool { api.mu.Lock(); defer api.mu.Unlock(); return len(api.lists) == 1 })
	if c, _ := get("http://" + admin + "/ready"); c != 500 {
		t.Errorf("/ready %d before the list, want 500", c)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM before sync: %v\n%s", err, stderr.String())
	}
}

// TestClientGoLogsAreOurs: client-go's own lines (here, its reflector
// backing off from an API server that refuses connections, which it says
// at klog's V(2), so at debug) come out as our log lines, JSON with
// --log-format=json, not klog's format among them.
func TestClientGoLogsAreOurs(t *testing.T) {
	if !testns.InNodeNamespace() {
		testns.RequireRoot(t)
		t.Skip("needs the node namespace")
	}
	closed := freePort(t) // nothing listens there any more
	kubeconfig := writeKubeconfig(t, t.TempDir(), "http://"+closed, "")
	cmd := exec.Command(binary, append(required, "--kubeconfig", kubeconfig, "--admin-addr", freePort(t), "--log-format", "json", "--log-level", "debug")...)
	cmd.Env = []string{"HOME=" + t.TempDir()}
	var stderr testns.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "client-go's complaint", func() bool { return strings.Contains(stderr.String(), `"source":"client-go"`) })
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("not a JSON log line: %q", l)
		}
	}
}

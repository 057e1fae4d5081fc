package repair

import (
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeRuntime is a CRI RuntimeService with the two calls the controller
// makes, serving sandboxes the test describes, over a unix socket in the
// test's temporary directory (as containerd serves its socket).
type fakeRuntime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	mu        sync.Mutex
	sandboxes []fakeSandbox
	lists     int
}

type fakeSandbox struct {
	id, namespace, name, uid string
	createdAt                int64
	hostNetwork              bool
	// info is the verbose "info" JSON; netns builds containerd's.
	info string
}

// containerdInfo is the verbose info containerd returns, trimmed to what
// matters: the network namespace path, and the runtime spec naming it too.
func containerdInfo(netns string) string {
	b, _ := json.Marshal(map[string]any{
		"pid":              4242,
		"netNamespacePath": netns,
		"runtimeSpec": map[string]any{"linux": map[string]any{"namespaces": []map[string]string{
			{"type": "pid"}, {"type": "network", "path": netns},
		}}},
	})
	return string(b)
}

func (f *fakeRuntime) ListPodSandbox(_ context.Context, req *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	out := &runtimeapi.ListPodSandboxResponse{}
	for _, sb := range f.sandboxes {
		if uid, ok := req.GetFilter().GetLabelSelector()["io.kubernetes.pod.uid"]; ok && uid != sb.uid {
			continue
		}
		out.Items = append(out.Items, &runtimeapi.PodSandbox{
			Id: sb.id, CreatedAt: sb.createdAt, State: runtimeapi.PodSandboxState_SANDBOX_READY,
			Metadata: &runtimeapi.PodSandboxMetadata{Name: sb.name, Namespace: sb.namespace, Uid: sb.uid},
			Labels:   map[string]string{"io.kubernetes.pod.uid": sb.uid},
		})
	}
	return out, nil
}

func (f *fakeRuntime) PodSandboxStatus(_ context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sb := range f.sandboxes {
		if sb.id != req.PodSandboxId {
			continue
		}
		mode := runtimeapi.NamespaceMode_POD
		if sb.hostNetwork {
			mode = runtimeapi.NamespaceMode_NODE
		}
		resp := &runtimeapi.PodSandboxStatusResponse{Status: &runtimeapi.PodSandboxStatus{
			Id: sb.id, State: runtimeapi.PodSandboxState_SANDBOX_READY, CreatedAt: sb.createdAt,
			Metadata: &runtimeapi.PodSandboxMetadata{Name: sb.name, Namespace: sb.namespace, Uid: sb.uid},
			Linux:    &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{Network: mode}}},
		}}
		if req.Verbose {
			resp.Info = map[string]string{"info": sb.info}
		}
		return resp, nil
	}
	return nil, grpcNotFound(req.PodSandboxId)
}

// serveFakeRuntime serves f on a socket in t's temporary directory and
// returns a CRI client dialled to it.
func serveFakeRuntime(t *testing.T, f *fakeRuntime) *CRI {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cri.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	c, err := DialCRI("unix://" + sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

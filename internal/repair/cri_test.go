package repair

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func grpcNotFound(id string) error { return status.Errorf(codes.NotFound, "sandbox %s not found", id) }

// TestCRINetNS: the pod's newest ready sandbox, found by UID, names its
// namespace in containerd's netNamespacePath or, failing that, in the OCI
// runtime spec (CRI-O); a host-network sandbox, none, or one without a path
// is refused with its error.
func TestCRINetNS(t *testing.T) {
	pod := newPod("web")
	uid := string(pod.UID)
	specOnly := `{"runtimeSpec":{"linux":{"namespaces":[{"type":"network","path":"/var/run/netns/crio-1"}]}}}`
	for _, tc := range []struct {
		name      string
		sandboxes []fakeSandbox
		want      string
		err       error
	}{
		{"containerd", []fakeSandbox{
			{id: "old", namespace: "app", name: "web", uid: uid, createdAt: 1, info: containerdInfo("/var/run/netns/cni-old")},
			{id: "new", namespace: "app", name: "web", uid: uid, createdAt: 2, info: containerdInfo("/var/run/netns/cni-new")},
			{id: "other", namespace: "app", name: "other", uid: "uid-other", createdAt: 3, info: containerdInfo("/var/run/netns/cni-other")},
		}, "/var/run/netns/cni-new", nil},
		{"runtime spec", []fakeSandbox{{id: "s", namespace: "app", name: "web", uid: uid, info: specOnly}}, "/var/run/netns/crio-1", nil},
		{"none", []fakeSandbox{{id: "other", namespace: "app", name: "other", uid: "uid-other", info: containerdInfo("/x")}}, "", ErrNoSandbox},
		{"host network", []fakeSandbox{{id: "s", namespace: "app", name: "web", uid: uid, hostNetwork: true, info: containerdInfo("")}}, "", ErrHostNetwork},
		{"no path", []fakeSandbox{{id: "s", namespace: "app", name: "web", uid: uid, info: `{"pid":1}`}}, "", ErrNoNetNSPath},
		{"metadata of another pod", []fakeSandbox{{id: "s", namespace: "app", name: "impostor", uid: uid, info: containerdInfo("/x")}}, "", ErrNoSandbox},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cri := serveFakeRuntime(t, &fakeRuntime{sandboxes: tc.sandboxes})
			got, err := cri.NetNS(context.Background(), pod)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NetNS = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestDialCRIRefusesTCP(t *testing.T) {
	if _, err := DialCRI("tcp://127.0.0.1:1"); err == nil {
		t.Fatal("a tcp endpoint was accepted")
	}
}

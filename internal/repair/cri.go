package repair

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultCRIEndpoint is containerd's CRI socket.
const DefaultCRIEndpoint = "unix:///run/containerd/containerd.sock"

// SandboxFinder finds the network namespace of a pod on this node.
type SandboxFinder interface {
	NetNS(ctx context.Context, pod *corev1.Pod) (string, error)
}

// Errors of the sandbox lookup, for errors.Is.
var (
	// ErrNoSandbox: the runtime has no ready sandbox for the pod (it is
	// being recreated, or lives on another node).
	ErrNoSandbox = errors.New("no ready pod sandbox")
	// ErrHostNetwork: the pod shares the node's network namespace; its
	// rules would redirect the node's traffic.
	ErrHostNetwork = errors.New("the pod sandbox uses the node's network namespace")
	// ErrNoNetNSPath: the runtime's verbose status names no namespace path.
	ErrNoNetNSPath = errors.New("the runtime's sandbox status names no network namespace path")
)

// CRI finds sandboxes through a container runtime's CRI RuntimeService
// (containerd, CRI-O), as crictl does.
type CRI struct {
	conn *grpc.ClientConn
	rs   runtimeapi.RuntimeServiceClient
}

// ParseCRIEndpoint is endpoint, unix:///path or a plain socket path, as
// the gRPC target DialCRI dials; anything else is refused, with the reason
// alone (the caller names where the value came from).
func ParseCRIEndpoint(endpoint string) (string, error) {
	if strings.HasPrefix(endpoint, "/") {
		endpoint = "unix://" + endpoint
	}
	if !strings.HasPrefix(endpoint, "unix://") {
		return "", errors.New("must be unix:///path/to/socket")
	}
	return endpoint, nil
}

// DialCRI connects to endpoint (see ParseCRIEndpoint). The connection is
// made lazily, at the first call.
func DialCRI(endpoint string) (*CRI, error) {
	target, err := ParseCRIEndpoint(endpoint)
	if err != nil {
		return nil, fmt.Errorf("CRI endpoint %q: %w", endpoint, err)
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("CRI endpoint %q: %w", endpoint, err)
	}
	return &CRI{conn: conn, rs: runtimeapi.NewRuntimeServiceClient(conn)}, nil
}

// Close closes the connection.
func (c *CRI) Close() error { return c.conn.Close() }

// NetNS finds the pod's ready sandbox by its UID label (the kubelet's
// io.kubernetes.pod.uid), checks it is the pod's, and reads the network
// namespace path from the runtime's verbose status: containerd's
// netNamespacePath, else the OCI runtime spec's network namespace (CRI-O,
// and containerd's spec too).
func (c *CRI) NetNS(ctx context.Context, pod *corev1.Pod) (string, error) {
	list, err := c.rs.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
		LabelSelector: map[string]string{"io.kubernetes.pod.uid": string(pod.UID)},
	}})
	if err != nil {
		return "", fmt.Errorf("list the runtime's pod sandboxes: %w", err)
	}
	var newest *runtimeapi.PodSandbox
	for _, sb := range list.Items {
		if newest == nil || sb.CreatedAt > newest.CreatedAt {
			newest = sb
		}
	}
	if newest == nil {
		return "", fmt.Errorf("pod %s/%s (uid %s): %w", pod.Namespace, pod.Name, pod.UID, ErrNoSandbox)
	}
	st, err := c.rs.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: newest.Id, Verbose: true})
	if err != nil {
		return "", fmt.Errorf("read the status of pod sandbox %s: %w", newest.Id, err)
	}
	return sandboxNetNS(st, pod)
}

func sandboxNetNS(st *runtimeapi.PodSandboxStatusResponse, pod *corev1.Pod) (string, error) {
	s := st.GetStatus()
	md := s.GetMetadata()
	if md.GetUid() != string(pod.UID) || md.GetNamespace() != pod.Namespace || md.GetName() != pod.Name {
		return "", fmt.Errorf("pod sandbox %s is %s/%s (uid %s), not pod %s/%s (uid %s): %w",
			s.GetId(), md.GetNamespace(), md.GetName(), md.GetUid(), pod.Namespace, pod.Name, pod.UID, ErrNoSandbox)
	}
	if s.GetLinux().GetNamespaces().GetOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE {
		return "", fmt.Errorf("pod sandbox %s: %w", s.GetId(), ErrHostNetwork)
	}
	var info struct {
		NetNSPath   string `json:"netNamespacePath"`
		RuntimeSpec struct {
			Linux struct {
				Namespaces []struct {
					Type string `json:"type"`
					Path string `json:"path"`
				} `json:"namespaces"`
			} `json:"linux"`
		} `json:"runtimeSpec"`
	}
	raw, ok := st.GetInfo()["info"]
	if !ok {
		return "", fmt.Errorf("pod sandbox %s: %w (no \"info\" key)", s.GetId(), ErrNoNetNSPath)
	}
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return "", fmt.Errorf("pod sandbox %s: decode the runtime's verbose info: %w", s.GetId(), err)
	}
	if info.NetNSPath != "" {
		return info.NetNSPath, nil
	}
	for _, ns := range info.RuntimeSpec.Linux.Namespaces {
		if ns.Type == "network" && ns.Path != "" {
			return ns.Path, nil
		}
	}
	return "", fmt.Errorf("pod sandbox %s: %w", s.GetId(), ErrNoNetNSPath)
}

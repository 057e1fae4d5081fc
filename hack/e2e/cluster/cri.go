package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// cri calls fn with a client of containerd's CRI. The socket is a file in
// the run directory: no network namespace is involved.
func (c *Cluster) cri(fn func(runtimeapi.RuntimeServiceClient) error) error {
	conn, err := grpc.NewClient("unix://"+filepath.Join(c.dir, "containerd.sock"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connect to containerd's CRI: %w", err)
	}
	defer conn.Close()
	return fn(runtimeapi.NewRuntimeServiceClient(conn))
}

// criStatus returns containerd's verbose CRI status info (its "cniconfig"
// entry is the network configuration it has loaded).
func (c *Cluster) criStatus(ctx context.Context) (info map[string]string, err error) {
	err = c.cri(func(rt runtimeapi.RuntimeServiceClient) error {
		st, err := rt.Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
		if err != nil {
			return fmt.Errorf("CRI status: %w", err)
		}
		info = st.Info
		return nil
	})
	return info, err
}

// WaitSandboxesStopped waits until no sandbox of the pod with this UID is
// ready in the runtime: its network is torn down (CNI DEL has run). The
// API object of a deleted pod can be gone before that, so a measurement
// that starts the next pod at once would share the node with the
// teardown of the last.
func (c *Cluster) WaitSandboxesStopped(ctx context.Context, podUID string) error {
	return c.waitFor(ctx, "the sandbox of pod "+podUID+" to stop", 60*time.Second, func(ctx context.Context) error {
		return c.cri(func(rt runtimeapi.RuntimeServiceClient) error {
			resp, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
				LabelSelector: map[string]string{"io.kubernetes.pod.uid": podUID},
				State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
			}})
			if err != nil {
				return fmt.Errorf("list sandboxes: %w", err)
			}
			if n := len(resp.Items); n > 0 {
				return fmt.Errorf("%d sandbox(es) still ready", n)
			}
			return nil
		})
	})
}

// WaitCNIConfig waits until containerd has loaded a network configuration
// in which every one of want appears (plugin types, say), and none of
// unwanted: containerd reloads its conf dir asynchronously after
// WriteCNIConfig.
func (c *Cluster) WaitCNIConfig(ctx context.Context, want, unwanted []string) error {
	return c.waitFor(ctx, "containerd to load the CNI configuration", 20*time.Second, func(ctx context.Context) error {
		info, err := c.criStatus(ctx)
		if err != nil {
			return err
		}
		conf := info["cniconfig"]
		for _, w := range want {
			if !strings.Contains(conf, w) {
				return fmt.Errorf("loaded configuration lacks %q", w)
			}
		}
		for _, u := range unwanted {
			if strings.Contains(conf, u) {
				return fmt.Errorf("loaded configuration still has %q", u)
			}
		}
		return nil
	})
}

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

// criStatus returns containerd's verbose CRI status info (its "cniconfig"
// entry is the network configuration it has loaded). The socket is a file
// in the run directory: no network namespace is involved.
func (c *Cluster) criStatus(ctx context.Context) (map[string]string, error) {
	conn, err := grpc.NewClient("unix://"+filepath.Join(c.dir, "containerd.sock"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd's CRI: %w", err)
	}
	defer conn.Close()
	st, err := runtimeapi.NewRuntimeServiceClient(conn).Status(ctx, &runtimeapi.StatusRequest{Verbose: true})
	if err != nil {
		return nil, fmt.Errorf("CRI status: %w", err)
	}
	return st.Info, nil
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

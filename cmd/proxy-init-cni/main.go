// Command proxy-init-cni is a chained CNI plugin, a drop-in for
// linkerd-cni's binary: at pod creation it reads the pod from the Kubernetes
// API and programs its transparent-proxy NAT rules into nf_tables over
// netlink, needing nothing on the node but the kernel (no nsenter, no
// iptables). The logic is in internal/cni; this file wires it to the CNI
// skeleton: JSON and environment in, the result or error object out.
package main

import (
	"os"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/proxy-init/netlink-native/internal/cni"
)

func main() {
	p := &cni.Plugin{Stderr: os.Stderr}
	skel.PluginMainFuncs(skel.CNIFuncs{
		Add: func(args *skel.CmdArgs) error {
			r, err := p.Add(args)
			if err != nil {
				return err
			}
			if err := r.Print(); err != nil {
				return types.NewError(types.ErrIOFailure, "write the result: "+err.Error(), "")
			}
			return nil
		},
		Del:    p.Del,
		Check:  p.Check,
		Status: p.Status,
		GC:     p.GC,
	}, version.All, "proxy-init-cni: linkerd-cni's plugin on nf_tables over netlink")
}

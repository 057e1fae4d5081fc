package cluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// Addresses inside the node. None is reachable from the host: they exist
// only in the node's network namespace.
const (
	NodeName    = "e2e-node"
	nodeIP      = "10.87.0.1"
	apiPort     = "6443"
	serviceCIDR = "10.96.0.0/24"
	// PodCIDR is the pod network of DefaultCNIConfig's bridge.
	PodCIDR = "10.244.0.0/24"
)

// DefaultCNIConfig is containerd's network at boot: the reference bridge,
// host-local and (containerd's own) loopback plugins. A scenario replaces
// it with WriteCNIConfig, e.g. with proxy-init-cni chained after the bridge
// (CNIConfig).
func DefaultCNIConfig() []byte { return CNIConfig() }

// CNIConfig returns the default conflist with extra plugins chained after
// the bridge, each a JSON object.
func CNIConfig(chained ...string) []byte {
	plugins := `{"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,"hairpinMode":true,` +
		`"ipam":{"type":"host-local","ranges":[[{"subnet":"` + PodCIDR + `"}]],"routes":[{"dst":"0.0.0.0/0"}]}}`
	for _, p := range chained {
		plugins += "," + p
	}
	return []byte(`{"cniVersion":"1.0.0","name":"e2e","plugins":[` + plugins + `]}` + "\n")
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// kubeconfig is a kubeconfig with a client certificate.
func kubeconfig(server, ca, cert, key string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: user
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: e2e
  context:
    cluster: e2e
    user: user
current-context: e2e
`, server, ca, cert, key))
}

// containerdConfig: its own root, state and socket; restrict_oom_score_adj
// because root here lacks CAP_SYS_RESOURCE; cgroupfs; the test's CNI
// directories with max_conf_num 1; the local pause image; the opt plugin
// disabled (it would create /opt/containerd on the host) and no AppArmor
// (loading a profile would change the host's kernel state).
func containerdConfig(run, sandboxImage, cniBin, cniConf string) []byte {
	return []byte(fmt.Sprintf(`version = 2
root = "%[1]s/containerd/root"
state = "%[1]s/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "%[1]s/containerd.sock"

[ttrpc]
  address = "%[1]s/containerd.ttrpc.sock"

[debug]
  level = "info"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%[2]s"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "%[3]s"
    conf_dir = "%[4]s"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
`, run, sandboxImage, cniBin, cniConf))
}

// kubeletConfig: cgroup v1 allowed (refused by default since 1.35),
// cgroupfs under a dedicated cgroup root, no swap check, oomScoreAdj 0 (no
// CAP_SYS_RESOURCE), x509 authentication with the test CA and no webhooks,
// image GC and eviction that never trigger on a busy test machine.
func kubeletConfig(run, ca, cert, key, cgroupRoot string) []byte {
	return []byte(fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: %[5]s
failSwapOn: false
oomScoreAdj: 0
containerRuntimeEndpoint: unix://%[1]s/containerd.sock
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: %[2]s
authorization:
  mode: AlwaysAllow
tlsCertFile: %[3]s
tlsPrivateKeyFile: %[4]s
address: %[6]s
healthzBindAddress: 127.0.0.1
resolvConf: %[1]s/resolv.conf
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
evictionPressureTransitionPeriod: 5s
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
registerNode: true
localStorageCapacityIsolation: false
`, run, ca, cert, key, cgroupRoot, nodeIP))
}

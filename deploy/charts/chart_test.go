// Package charts tests linkerd2-cni, the chart in this folder, as Helm
// renders it: the values of linkerd2's linkerd2-cni chart give the same
// objects, least privilege in every container, and a ConfigMap entry that
// proxy-init-cni-install accepts. Helm v4 is run as a program built from
// the Go module proxy (helm.sh/helm/v4@v4.3.2), so it is no dependency of
// any module here; the test lives in the root module because it reads the
// chart's ConfigMap with internal/cniinstall, which hack/ may not import.
package charts

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/proxy-init/netlink-native/internal/cniinstall"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
)

const helmModule = "helm.sh/helm/v4/cmd/helm@v4.3.2"

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helm builds Helm once per test process into a temporary directory.
func helm(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chart-test-helm-")
		if err != nil {
			helmErr = err
			return
		}
		cmd := exec.Command("go", "install", helmModule)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = errors.New("go install " + helmModule + ": " + err.Error() + "\n" + string(out))
			return
		}
		helmBin = filepath.Join(dir, "helm")
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if helmBin != "" {
		os.RemoveAll(filepath.Dir(helmBin))
	}
	os.Exit(code)
}

// rendered is a chart's objects by kind.
type rendered struct {
	sa    corev1.ServiceAccount
	cm    corev1.ConfigMap
	role  rbacv1.ClusterRole
	bind  rbacv1.ClusterRoleBinding
	ds    appsv1.DaemonSet
	kinds []string
}

func render(t *testing.T, args ...string) rendered {
	t.Helper()
	chart, err := filepath.Abs("linkerd2-cni")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm(t), append([]string{"template", "t", chart, "--namespace", "linkerd-cni"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	var r rendered
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode: %v\n%s", err, out)
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var head struct{ Kind string }
		must(t, json.Unmarshal(raw, &head))
		r.kinds = append(r.kinds, head.Kind)
		target := map[string]any{"ServiceAccount": &r.sa, "ConfigMap": &r.cm, "ClusterRole": &r.role,
			"ClusterRoleBinding": &r.bind, "DaemonSet": &r.ds}[head.Kind]
		if target == nil {
			t.Fatalf("unexpected kind %s", head.Kind)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields() // a misspelt field would be dropped by the API server
		if err := dec.Decode(target); err != nil {
			t.Fatalf("%s: %v\n%s", head.Kind, err, raw)
		}
	}
	return r
}

func container(t *testing.T, ds appsv1.DaemonSet, name string) *corev1.Container {
	for i := range ds.Spec.Template.Spec.Containers {
		if ds.Spec.Template.Spec.Containers[i].Name == name {
			return &ds.Spec.Template.Spec.Containers[i]
		}
	}
	return nil
}

// checkInstaller: the installer's least privilege, whatever the values
// (but privileged): root, because the node's CNI directories are root's,
// and nothing else.
func checkInstaller(t *testing.T, c *corev1.Container) {
	t.Helper()
	if c == nil {
		t.Fatal("no install-cni container")
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 0 || sc.Privileged == nil || *sc.Privileged ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || len(sc.Capabilities.Add) != 0 || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		b, _ := json.Marshal(sc)
		t.Fatalf("install-cni securityContext %s", b)
	}
	if len(c.Command) != 0 || len(c.Args) != 0 || c.Lifecycle != nil {
		t.Fatalf("install-cni runs the image's entrypoint with no argument and no hook (no shell in the image): %v %v %v", c.Command, c.Args, c.Lifecycle)
	}
}

// loadEntry runs the installer's own configuration check on what the
// ConfigMap gives its container.
func loadEntry(t *testing.T, cm corev1.ConfigMap) cniinstall.Config {
	t.Helper()
	root := t.TempDir()
	env := map[string]string{
		"CONTAINER_MOUNT_PREFIX": root, "CONTAINER_CNI_BIN_DIR": root,
		"DEST_CNI_NET_DIR": cm.Data["dest_cni_net_dir"], "DEST_CNI_BIN_DIR": cm.Data["dest_cni_bin_dir"],
		"CNI_NETWORK_CONFIG":      cm.Data["cni_network_config"],
		"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
	}
	must(t, os.MkdirAll(filepath.Join(root, env["DEST_CNI_NET_DIR"]), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, env["DEST_CNI_BIN_DIR"]), 0o755))
	cfg, err := cniinstall.Load(func(k string) string { return env[k] }, root)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	r := render(t)
	if got := strings.Join(r.kinds, ","); got != "ServiceAccount,ConfigMap,ClusterRole,ClusterRoleBinding,DaemonSet" {
		t.Fatalf("kinds %s", got)
	}
	cfg := loadEntry(t, r.cm)
	want := `{"name":"linkerd-cni","type":"linkerd-cni","log_level":"info","kubernetes":{"kubeconfig":"/etc/cni/net.d/ZZZ-linkerd-cni-kubeconfig"},` +
		`"linkerd":{"incoming-proxy-port":4143,"outgoing-proxy-port":4140,"proxy-uid":2102,"ports-to-redirect":[],` +
		`"inbound-ports-to-ignore":["4191","4190"],"simulate":false,"use-wait-flag":false,"iptables-mode":"nft","ipv6":false}}`
	if string(cfg.Entry) != want {
		t.Fatalf("entry\n%s\nwant\n%s", cfg.Entry, want)
	}
	if len(r.role.Rules) != 1 || strings.Join(r.role.Rules[0].Resources, ",") != "pods,nodes,namespaces,services" ||
		strings.Join(r.role.Rules[0].Verbs, ",") != "list,get,watch" {
		t.Fatalf("rules %+v", r.role.Rules)
	}
	spec := r.ds.Spec.Template.Spec
	if len(spec.Containers) != 1 || spec.Containers[0].Image != "localhost/proxy-init-cni:latest" || spec.ServiceAccountName != "linkerd-cni" {
		t.Fatalf("containers %+v", spec.Containers)
	}
	checkInstaller(t, container(t, r.ds, "install-cni"))
	mounts := map[string]string{}
	for _, m := range spec.Containers[0].VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	vols := map[string]string{}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			vols[v.Name] = v.HostPath.Path
		}
	}
	if mounts["cni-net-dir"] != "/host/etc/cni/net.d" || mounts["cni-bin-dir"] != "/host/opt/cni/bin" ||
		vols["cni-net-dir"] != "/etc/cni/net.d" || vols["cni-bin-dir"] != "/opt/cni/bin" {
		t.Fatalf("mounts %v volumes %v", mounts, vols)
	}
}

// TestUpstreamValues: a values file written for linkerd2's chart, every
// key set, renders our objects with those values.
func TestUpstreamValues(t *testing.T) {
	r := render(t, "-f", "testdata/values-upstream.yaml")
	cfg := loadEntry(t, r.cm)
	want := `{"name":"linkerd-cni","type":"linkerd-cni","log_level":"debug","kubernetes":{"kubeconfig":"/etc/kubernetes/cni/net.d/ZZZ-linkerd-cni-kubeconfig"},` +
		`"linkerd":{"incoming-proxy-port":4144,"outgoing-proxy-port":4141,"proxy-uid":2103,"proxy-gid":2103,"ports-to-redirect":[80,443],` +
		`"inbound-ports-to-ignore":["4192","4191","25","587","3306-3307"],"outbound-ports-to-ignore":["4567","4568"],` +
		`"simulate":false,"use-wait-flag":true,"iptables-mode":"legacy","ipv6":true}}`
	if string(cfg.Entry) != want {
		t.Fatalf("entry\n%s\nwant\n%s", cfg.Entry, want)
	}
	if r.sa.Labels["owner"] != "platform" || len(r.sa.ImagePullSecrets) != 1 || r.sa.ImagePullSecrets[0].Name != "regcred" {
		t.Fatalf("service account %+v", r.sa)
	}
	if len(r.role.Rules) != 3 || r.role.Rules[1].Verbs[0] != "delete" || r.role.Rules[2].APIGroups[0] != "events.k8s.io" {
		t.Fatalf("rules %+v", r.role.Rules)
	}
	spec := r.ds.Spec.Template.Spec
	if spec.PriorityClassName != "system-node-critical" || len(spec.InitContainers) != 1 || spec.InitContainers[0].Name != "wait-for-net" ||
		len(spec.Tolerations) != 1 || spec.Tolerations[0].Key != "node-role.kubernetes.io/control-plane" ||
		spec.Affinity == nil || spec.Affinity.NodeAffinity == nil ||
		r.ds.Spec.Template.Labels["team"] != "mesh" || r.ds.Labels["owner"] != "platform" ||
		*r.ds.Spec.RevisionHistoryLimit != 5 || r.ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.IntValue() != 2 {
		b, _ := json.MarshalIndent(r.ds, "", " ")
		t.Fatalf("daemonset\n%s", b)
	}
	inst := container(t, r.ds, "install-cni")
	checkInstaller(t, inst)
	if inst.ImagePullPolicy != corev1.PullNever || inst.Resources.Limits.Cpu().String() != "200m" ||
		inst.Resources.Requests.Memory().String() != "32Mi" || inst.Resources.Requests.StorageEphemeral().String() != "10Mi" {
		t.Fatalf("install-cni %+v", inst)
	}
	rep := container(t, r.ds, "repair-controller")
	if rep == nil {
		t.Fatal("no repair-controller container")
	}
	if strings.Join(rep.Command, " ") != "/proxy-init-cni-repair" ||
		strings.Join(rep.Args, " ") != "--admin-addr [::]:9990 --log-format json --log-level debug" {
		t.Fatalf("repair-controller %v %v", rep.Command, rep.Args)
	}
	sc := rep.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || *sc.RunAsUser != 65534 || *sc.AllowPrivilegeEscalation ||
		!*sc.ReadOnlyRootFilesystem || sc.Capabilities.Drop[0] != "ALL" || rep.Resources.Limits.Cpu().String() != "100m" {
		t.Fatalf("repair-controller securityContext %+v", sc)
	}
	if rep.Env[0].Name != "LINKERD_CNI_REPAIR_CONTROLLER_NODE_NAME" || rep.Env[0].ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Fatalf("repair-controller env %+v", rep.Env)
	}
}

// TestSharedDirectory: one host directory for binaries and configuration
// is mounted once, as linkerd2's chart does.
func TestSharedDirectory(t *testing.T) {
	r := render(t, "--set", "destCNINetDir=/var/lib/cni", "--set", "destCNIBinDir=/var/lib/cni")
	spec := r.ds.Spec.Template.Spec
	if len(spec.Volumes) != 2 || spec.Volumes[0].Name != "cni-net-dir" || spec.Volumes[0].HostPath.Path != "/var/lib/cni" ||
		len(spec.Containers[0].VolumeMounts) != 2 || spec.Containers[0].VolumeMounts[0].MountPath != "/host/var/lib/cni" {
		t.Fatalf("volumes %+v mounts %+v", spec.Volumes, spec.Containers[0].VolumeMounts)
	}
	if cfg := loadEntry(t, r.cm); cfg.KubeconfigOnHost != "/var/lib/cni/ZZZ-linkerd-cni-kubeconfig" {
		t.Fatalf("kubeconfig %s", cfg.KubeconfigOnHost)
	}
}

// TestRepairWithoutSecurityContext: upstream's chart then drops the
// repair controller's command with its securityContext; ours keeps it.
func TestRepairWithoutSecurityContext(t *testing.T) {
	r := render(t, "--set", "repairController.enabled=true", "--set", "repairController.enableSecurityContext=false")
	rep := container(t, r.ds, "repair-controller")
	if rep == nil || rep.SecurityContext != nil || strings.Join(rep.Command, " ") != "/proxy-init-cni-repair" ||
		strings.Join(rep.Args, " ") != "--admin-addr 0.0.0.0:9990 --log-format plain --log-level info" {
		t.Fatalf("repair-controller %+v", rep)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAPIServerOverride: apiServer.host and .port (ours) set the
// installer's KUBERNETES_SERVICE_HOST and _PORT, which then win over the
// ones Kubernetes injects; unset, no such variable is rendered.
func TestAPIServerOverride(t *testing.T) {
	env := func(c *corev1.Container) map[string]string {
		m := map[string]string{}
		for _, e := range c.Env {
			m[e.Name] = e.Value
		}
		return m
	}
	r := render(t, "--set", "apiServer.host=fd00::10", "--set-string", "apiServer.port=6443")
	e := env(container(t, r.ds, "install-cni"))
	if e["KUBERNETES_SERVICE_HOST"] != "fd00::10" || e["KUBERNETES_SERVICE_PORT"] != "6443" {
		t.Fatalf("env %v", e)
	}
	e = env(container(t, render(t).ds, "install-cni"))
	if _, ok := e["KUBERNETES_SERVICE_HOST"]; ok {
		t.Fatalf("env %v", e)
	}
}

// TestPrivileged: upstream's `privileged: true` (for nodes whose security
// module keeps containers out of the CNI directories) is honoured.
func TestPrivileged(t *testing.T) {
	c := container(t, render(t, "--set", "privileged=true").ds, "install-cni")
	if sc := c.SecurityContext; sc == nil || sc.Privileged == nil || !*sc.Privileged || *sc.RunAsUser != 0 || !*sc.ReadOnlyRootFilesystem {
		t.Fatalf("securityContext %+v", sc)
	}
}

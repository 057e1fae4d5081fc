package scenarios

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/hack/e2e/cluster"
	"github.com/proxy-init/netlink-native/hack/e2e/images"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// chartNS is the namespace our chart is installed into. Not linkerd-cni:
// useCNIPlugin's service account lives there, outside Helm's ownership.
const (
	chartNS      = "e2e-linkerd-cni"
	chartRelease = "linkerd2-cni"
	// pluginType is the type of the chart's conflist entry (upstream's).
	pluginType     = "linkerd-cni"
	kubeconfigName = "ZZZ-linkerd-cni-kubeconfig"
)

// chartInstall is our chart installed with Helm on the node.
type chartInstall struct {
	t       *testing.T
	helmEnv []string
	removed bool
}

// helm runs the cluster's helm as admin inside the node (the admin
// kubeconfig's server is the node's address). Helm's cache, config and data
// go to a test directory, never the host's home.
func (ci *chartInstall) helm(ctx context.Context, args ...string) ([]byte, error) {
	if c.Bins().Helm == "" {
		ci.t.Fatal("no helm binary: the cluster was built without hack/e2e/tools/helm")
	}
	cmd := c.Node().Command(ctx, c.Bins().Helm, append(args, "--kubeconfig", c.Kubeconfig())...)
	cmd.Env = ci.helmEnv
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return out, nil
}

// installChart installs deploy/charts/linkerd2-cni with values fitted to
// the node (containerd's CNI dirs, the e2e image, never pulled, the API
// server's node address since no kube-proxy serves the kubernetes
// Service's ClusterIP) and waits for the DaemonSet's pod to be Ready and
// containerd to have loaded the patched conflist. Cleanup uninstalls it if
// the test did not, and puts back what other scenarios expect: the plain
// conflist and proxy-init-cni in the bin dir (the installer removes every
// binary it installed, our plugin's second name among them).
//
// Values files in extra come first: the node's values win.
func installChart(t *testing.T, extra ...string) *chartInstall {
	t.Helper()
	ctx := context.Background()
	home := t.TempDir()
	ci := &chartInstall{t: t, helmEnv: append(os.Environ(), "HOME="+home,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"), "HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))}
	// useCNIPlugin's ClusterRole and binding are named linkerd-cni too
	// (created again by its next call); Helm refuses objects it does not own.
	_ = c.Client().RbacV1().ClusterRoleBindings().Delete(ctx, "linkerd-cni", metav1.DeleteOptions{})
	_ = c.Client().RbacV1().ClusterRoles().Delete(ctx, "linkerd-cni", metav1.DeleteOptions{})
	// Pod Security privileged: the DaemonSet mounts host paths.
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: chartNS,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", chartNS, err)
	}
	t.Cleanup(func() {
		if !ci.removed {
			ci.uninstall()
		}
		_ = c.Client().CoreV1().Namespaces().Delete(context.Background(), chartNS, metav1.DeleteOptions{})
		if err := c.InstallCNIPlugin(cniPluginName, imgs.CNIPlugin()); err != nil {
			t.Error(err)
		}
		setCNIConfig(t, cluster.DefaultCNIConfig(), nil, []string{pluginType})
		waitNamespaceGone(t, chartNS)
	})
	u, err := url.Parse(c.APIServer())
	if err != nil {
		t.Fatal(err)
	}
	values := fmt.Sprintf(`destCNINetDir: %q
destCNIBinDir: %q
image:
  name: %q
  version: %q
  pullPolicy: Never
apiServer:
  host: %q
  port: %q
`, c.CNIConfDir(), c.CNIBinDir(), images.CNIName, images.CNIVersion, u.Hostname(), u.Port())
	vf := filepath.Join(home, "values.yaml")
	if err := os.WriteFile(vf, []byte(values), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"install", chartRelease, filepath.Join(root, "deploy", "charts", "linkerd2-cni"), "--namespace", chartNS}
	for _, f := range append(extra, vf) {
		args = append(args, "-f", f)
	}
	if _, err := ci.helm(ctx, args...); err != nil {
		t.Fatal(err)
	}
	p := waitInstallerReady(t)
	t.Logf("installer pod %s Ready", p.Name)
	waitPatched(t)
	return ci
}

// uninstall runs helm uninstall and waits until the installer's pod is
// gone (its SIGTERM handling has then removed what it installed).
func (ci *chartInstall) uninstall() {
	t := ci.t
	ci.removed = true
	ctx := context.Background()
	if _, err := ci.helm(ctx, "uninstall", chartRelease, "--namespace", chartNS); err != nil {
		t.Error(err)
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		l, err := c.Client().CoreV1().Pods(chartNS).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=linkerd-cni"})
		if err == nil && len(l.Items) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("the installer's pod still exists 60 s after helm uninstall")
}

func waitNamespaceGone(t *testing.T, ns string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Client().CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err != nil && cluster.IgnoreNotFound(err) == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("namespace %s still there 60 s after its deletion", ns)
}

// waitInstallerReady waits for the DaemonSet's pod to be Ready.
func waitInstallerReady(t *testing.T) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	var last *corev1.Pod
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		l, err := c.Client().CoreV1().Pods(chartNS).List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=linkerd-cni"})
		if err == nil {
			for i := range l.Items {
				last = &l.Items[i]
				if ok, _ := cluster.PodReady(last); ok {
					return last
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	var evs []string
	if l, err := c.Client().CoreV1().Events(chartNS).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range l.Items {
			evs = append(evs, fmt.Sprintf("%s %s/%s: %s %s", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message))
		}
	}
	t.Fatalf("the linkerd-cni DaemonSet's pod is not Ready after 90 s:\n%s\nevents in %s:\n%s", podReport(last), chartNS, strings.Join(evs, "\n"))
	return nil
}

// conflistPlugins reads containerd's conflist and returns its plugins'
// types in order.
func conflistPlugins(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.CNIConfDir(), "10-e2e.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	var cl struct {
		Plugins []struct {
			Type string `json:"type"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &cl); err != nil {
		t.Fatalf("containerd's conflist is not JSON: %v\n%s", err, b)
	}
	var types []string
	for _, p := range cl.Plugins {
		types = append(types, p.Type)
	}
	return types
}

// waitPatched waits until the installer's entry is the conflist's last
// plugin (once), then until containerd has loaded it.
func waitPatched(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var types []string
	for {
		types = conflistPlugins(t)
		n := 0
		for _, ty := range types {
			if ty == pluginType {
				n++
			}
		}
		if n == 1 && types[len(types)-1] == pluginType {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd's conflist plugins are %v 30 s after the installer started, want one %s, last", types, pluginType)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := c.WaitCNIConfig(context.Background(), []string{pluginType}, nil); err != nil {
		t.Fatal(err)
	}
}

// cniFiles is the node's CNI conf and bin dirs: name -> mode and SHA-256.
func cniFiles(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, dir := range []string{c.CNIConfDir(), c.CNIBinDir()} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			v := fi.Mode().String()
			if fi.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				v += fmt.Sprintf(" %x", sha256.Sum256(b))
			}
			m[p] = v
		}
	}
	return m
}

func diffFiles(before, after map[string]string) []string {
	var d []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			d = append(d, "removed: "+k)
		} else if w != v {
			d = append(d, fmt.Sprintf("changed: %s (%s -> %s)", k, v, w))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			d = append(d, "added: "+k)
		}
	}
	sort.Strings(d)
	return d
}

// TestCNIDaemonSet: helm install of our chart on the node; the installer
// patches containerd's conflist, meshed pods pass the validator and are
// redirected, a pod network's rewrite of its conflist is patched again,
// and helm uninstall leaves the node's CNI files as they were.
func TestCNIDaemonSet(t *testing.T) {
	// A node that never had our plugin: TestMain put proxy-init-cni in the
	// bin dir for the other scenarios (installChart's cleanup puts it back).
	if err := os.Remove(filepath.Join(c.CNIBinDir(), cniPluginName)); err != nil {
		t.Fatal(err)
	}
	setCNIConfig(t, cluster.DefaultCNIConfig(), nil, []string{pluginType, cniPluginName})
	original, err := os.ReadFile(filepath.Join(c.CNIConfDir(), "10-e2e.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	before := cniFiles(t)

	ci := installChart(t)
	if types := conflistPlugins(t); types[0] != "bridge" {
		t.Errorf("conflist plugins %v: the pod network's own plugin is no longer first", types)
	}
	kc := filepath.Join(c.CNIConfDir(), kubeconfigName)
	if fi, err := os.Stat(kc); err != nil {
		t.Errorf("the installer's kubeconfig: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %o, want 600 (it holds a token)", kc, fi.Mode().Perm())
	}
	for _, b := range []string{pluginType, cniPluginName} {
		if _, err := os.Stat(filepath.Join(c.CNIBinDir(), b)); err != nil {
			t.Errorf("the installer did not copy %s to the node: %v", b, err)
		}
	}

	t.Run("meshed-pod", func(t *testing.T) {
		p := createPod(t, meshedCNIPod("ds-meshed", "default", map[string]string{
			"config.linkerd.io/skip-inbound-ports":  fmt.Sprint(ctlPort),
			"config.linkerd.io/skip-outbound-ports": fmt.Sprint(skipOutPort),
		}))
		validatorExit0(t, p)
		checkRedirected(t, p.Status.PodIP, skipOutPort)
	})

	// A pod network writing its conflist again (on its own restart or
	// upgrade), by rename as CNI daemons do: the installer puts its entry
	// back, and new pods are still redirected.
	t.Run("conflist-rewritten", func(t *testing.T) {
		if err := c.WriteCNIConfig(original); err != nil {
			t.Fatal(err)
		}
		waitPatched(t)
		p := createPod(t, meshedCNIPod("ds-after-rewrite", "default", map[string]string{
			"config.linkerd.io/skip-inbound-ports":  fmt.Sprint(ctlPort),
			"config.linkerd.io/skip-outbound-ports": fmt.Sprint(skipOutPort),
		}))
		validatorExit0(t, p)
		checkRedirected(t, p.Status.PodIP, skipOutPort)
	})

	t.Run("uninstall", func(t *testing.T) {
		ci.uninstall()
		if d := diffFiles(before, cniFiles(t)); len(d) > 0 {
			t.Errorf("the node's CNI files differ from before helm install:\n  %s", strings.Join(d, "\n  "))
		}
		if got, _ := os.ReadFile(filepath.Join(c.CNIConfDir(), "10-e2e.conflist")); !bytes.Equal(got, original) {
			t.Errorf("conflist after uninstall:\n%s\nwant, byte for byte:\n%s", got, original)
		}
	})
}

// TestCNIDaemonSetUpstreamValues installs the chart with a values file
// written for linkerd2's chart (deploy/charts/testdata/values-upstream.yaml,
// every key set), adjusted only where this node differs: containerd's
// paths, the e2e image, the API server's address, no busybox init
// container (no image here), no repair sidecar (its in-cluster
// configuration names the kubernetes Service's ClusterIP, which nothing
// serves on this node), no ephemeral-storage request (the DaemonSet
// controller creates no pod: this node reports no ephemeral storage). The
// installer runs with the entry those values render, and uninstall
// restores the node.
func TestCNIDaemonSetUpstreamValues(t *testing.T) {
	if err := os.Remove(filepath.Join(c.CNIBinDir(), cniPluginName)); err != nil {
		t.Fatal(err)
	}
	setCNIConfig(t, cluster.DefaultCNIConfig(), nil, []string{pluginType, cniPluginName})
	before := cniFiles(t)
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	adj := filepath.Join(t.TempDir(), "adjust.yaml")
	if err := os.WriteFile(adj, []byte("extraInitContainers: []\nrepairController:\n  enabled: false\nresources:\n  ephemeral-storage:\n    request: \"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ci := installChart(t, filepath.Join(root, "deploy", "charts", "testdata", "values-upstream.yaml"), adj)
	b, err := os.ReadFile(filepath.Join(c.CNIConfDir(), "10-e2e.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	var cl struct {
		Plugins []struct {
			Type     string         `json:"type"`
			LogLevel string         `json:"log_level"`
			Linkerd  map[string]any `json:"linkerd"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &cl); err != nil {
		t.Fatal(err)
	}
	e := cl.Plugins[len(cl.Plugins)-1]
	got, _ := json.Marshal(e.Linkerd)
	want := `{"inbound-ports-to-ignore":["4192","4191","25","587","3306-3307"],"incoming-proxy-port":4144,"iptables-mode":"legacy","ipv6":true,` +
		`"outbound-ports-to-ignore":["4567","4568"],"outgoing-proxy-port":4141,"ports-to-redirect":[80,443],"proxy-gid":2103,"proxy-uid":2103,"simulate":false,"use-wait-flag":true}`
	if e.LogLevel != "debug" || string(got) != want {
		t.Errorf("the installed entry: log_level %q, linkerd %s\nwant debug, %s", e.LogLevel, got, want)
	}
	ci.uninstall()
	if d := diffFiles(before, cniFiles(t)); len(d) > 0 {
		t.Errorf("the node's CNI files differ from before helm install:\n  %s", strings.Join(d, "\n  "))
	}
}

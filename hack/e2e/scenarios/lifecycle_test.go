package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cniCache is libcni's cached result of a sandbox's ADD (the node's
// /var/lib/cni/results, in the run directory).
type cniCache struct {
	ContainerID string          `json:"containerId"`
	IfName      string          `json:"ifName"`
	NetworkName string          `json:"networkName"`
	CNIArgs     [][2]string     `json:"cniArgs"`
	Result      json.RawMessage `json:"result"`
}

// cachedResult finds the pod's cached ADD result.
func cachedResult(t *testing.T, ns, name string) *cniCache {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(c.Dir(), "varlib", "cni", "results", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var cc cniCache
		if json.Unmarshal(b, &cc) != nil {
			continue
		}
		args := map[string]string{}
		for _, kv := range cc.CNIArgs {
			args[kv[0]] = kv[1]
		}
		// containerd caches its own loopback network too (cni-loopback).
		if cc.IfName == "eth0" && args["K8S_POD_NAMESPACE"] == ns && args["K8S_POD_NAME"] == name {
			return &cc
		}
	}
	t.Fatalf("no cached CNI result for pod %s/%s among %v", ns, name, files)
	return nil
}

// cniCheck runs our plugin's CHECK for a running pod in the node, as a
// runtime would: the plugin's conf with the chain's cached result as
// prevResult. It returns the plugin's stdout (the error object on failure).
func cniCheck(t *testing.T, conf string, p *corev1.Pod) (string, error) {
	t.Helper()
	cc := cachedResult(t, p.Namespace, p.Name)
	var stdin map[string]any
	if err := json.Unmarshal([]byte(conf), &stdin); err != nil {
		t.Fatal(err)
	}
	stdin["cniVersion"], stdin["name"], stdin["prevResult"] = "1.0.0", cc.NetworkName, cc.Result
	in, _ := json.Marshal(stdin)
	netns, err := c.PodNetNS(p.Status.PodIP)
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, kv := range cc.CNIArgs {
		args = append(args, kv[0]+"="+kv[1])
	}
	cmd := c.Node().Command(context.Background(), filepath.Join(c.CNIBinDir(), cniPluginName))
	cmd.Env = []string{"CNI_COMMAND=CHECK", "CNI_CONTAINERID=" + cc.ContainerID, "CNI_NETNS=/run/netns/" + filepath.Base(netns),
		"CNI_IFNAME=" + cc.IfName, "CNI_ARGS=" + strings.Join(args, ";"), "CNI_PATH=" + c.CNIBinDir(), "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if err != nil {
		t.Logf("CHECK's log: %s", errb.String())
	}
	return out.String(), err
}

// nftInPod runs nft in the network namespace held by f (open, so that it
// outlives the pod).
func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func nftInPod(t *testing.T, f *os.File, args ...string) string {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=/proc/self/fd/3", "nft"}, args...)...)
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nft %v in the pod's namespace: %v: %s", args, err, out)
	}
	return string(out)
}

// TestCNILifecycle: our DEL runs when a pod goes; a node restart (kubelet
// and containerd) keeps running pods' rules and CHECK agrees; a broken rule
// set is caught by both the traffic check and CHECK.
func TestCNILifecycle(t *testing.T) {
	conf := useCNIPlugin(t)
	ctx := context.Background()

	t.Run("delete-runs-DEL", func(t *testing.T) {
		p := createPod(t, meshedCNIPod("cni-del", "default", map[string]string{"config.linkerd.io/skip-inbound-ports": fmt.Sprint(ctlPort)}))
		path, err := c.PodNetNS(p.Status.PodIP)
		if err != nil {
			t.Fatal(err)
		}
		// Holding the namespace open keeps it alive after the runtime
		// releases it, so what DEL left in it can be looked at.
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if tb := nftInPod(t, f, "list", "tables"); !strings.Contains(tb, "table ip proxy_init") {
			t.Fatalf("no table ip proxy_init before the deletion: %q", tb)
		}
		deletePod(t, "default", p.Name)
		// The API forgets a pod deleted with no grace period at once;
		// kubelet tears the sandbox down (DEL) after: wait until the
		// runtime has released the namespace.
		deadline := time.Now().Add(30 * time.Second)
		for fileExists(path) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if fileExists(path) {
			t.Fatalf("the runtime still holds the pod's namespace %s 30 s after its deletion", path)
		}
		if tb := nftInPod(t, f, "list", "tables"); strings.Contains(tb, "proxy_init") {
			t.Errorf("our tables are still in the pod's namespace after DEL:\n%s", tb)
		}
		log, _ := os.ReadFile(c.LogPath("containerd"))
		if !bytes.Contains(log, []byte("verb=DEL")) {
			t.Errorf("no DEL in the plugin's log (containerd's stderr, %s)", c.LogPath("containerd"))
		}
	})

	t.Run("node-restart-keeps-rules", func(t *testing.T) {
		p := createPod(t, meshedCNIPod("cni-restart", "default", map[string]string{"config.linkerd.io/skip-outbound-ports": fmt.Sprint(skipOutPort),
			"config.linkerd.io/skip-inbound-ports": fmt.Sprint(ctlPort)}))
		if out, err := cniCheck(t, conf, p); err != nil {
			t.Fatalf("CHECK before the restart: %v %s", err, out)
		}
		path, _ := c.PodNetNS(p.Status.PodIP)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rules := nftInPod(t, f, "list", "table", "ip", "proxy_init")
		if err := c.RestartNode(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := c.Client().CoreV1().Pods("default").Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range after.Status.ContainerStatuses {
			if s.RestartCount != 0 || s.ContainerID != p.Status.ContainerStatuses[i].ContainerID {
				t.Errorf("container %s restarted with the node:\n%s", s.Name, podReport(after))
			}
		}
		if now := nftInPod(t, f, "list", "table", "ip", "proxy_init"); now != rules {
			t.Errorf("the rules changed across the node restart:\nbefore:\n%s\nafter:\n%s", rules, now)
		}
		checkRedirected(t, p.Status.PodIP, skipOutPort)
		if out, err := cniCheck(t, conf, p); err != nil {
			t.Errorf("CHECK after the restart: %v %s", err, out)
		}
	})

	// The checks must be able to fail: break the pod's rules and see both
	// the traffic check and CHECK say so.
	t.Run("broken-rules-detected", func(t *testing.T) {
		p := createPod(t, meshedCNIPod("cni-broken", "default", map[string]string{"config.linkerd.io/skip-outbound-ports": fmt.Sprint(skipOutPort),
			"config.linkerd.io/skip-inbound-ports": fmt.Sprint(ctlPort)}))
		if pr := redirectionProblems(t, p.Status.PodIP, skipOutPort); len(pr) > 0 {
			t.Fatalf("problems before breaking anything: %v", pr)
		}
		path, _ := c.PodNetNS(p.Status.PodIP)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		breakRules(t, f)
		pr := redirectionProblems(t, p.Status.PodIP, skipOutPort)
		if len(pr) == 0 {
			t.Errorf("the traffic check passed with broken rules")
		}
		t.Logf("the traffic check saw: %v", pr)
		out, err := cniCheck(t, conf, p)
		if err == nil {
			t.Errorf("CHECK passed with broken rules")
		}
		t.Logf("CHECK said: %s", out)
	})
}

// breakRules empties the chain that sends inbound traffic to the proxy,
// leaving the rest in place: a subtly broken rule set.
func breakRules(t *testing.T, f *os.File) {
	t.Helper()
	listing := nftInPod(t, f, "list", "table", "ip", "proxy_init")
	for _, l := range strings.Split(listing, "\n") {
		l = strings.TrimSpace(l)
		if name, ok := strings.CutPrefix(l, "chain "); ok {
			name = strings.TrimSuffix(name, " {")
			if strings.Contains(strings.ToLower(name), "redirect") && !strings.Contains(strings.ToLower(name), "output") {
				nftInPod(t, f, "flush", "chain", "ip", "proxy_init", name)
				t.Logf("flushed chain %s", name)
				return
			}
		}
	}
	t.Fatalf("no inbound chain to break in:\n%s", listing)
}

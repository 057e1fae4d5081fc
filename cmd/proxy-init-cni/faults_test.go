package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/proxy-init/netlink-native/internal/cni"
	"github.com/proxy-init/netlink-native/internal/kubefake"
)

// bystander is a table of someone else's that a pod holds before ADD: a
// failed ADD must leave the namespace exactly as it was, this included.
const bystander = `table inet bystander {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 9 counter accept
	}
}
`

// run executes the plugin as a runtime does: environment and stdin in, the
// result or error object on stdout. A failure is returned as the plugin's
// *types.Error.
func (n *node) run(t *testing.T, env map[string]string, stdin []byte) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(pluginDir, "proxy-init-cni"))
	cmd.Env = []string{"CNI_PATH=" + pluginDir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if bytes.Contains(stderr.Bytes(), []byte(kubefake.Token)) || bytes.Contains(stdout.Bytes(), []byte(kubefake.Token)) {
		t.Errorf("the plugin's output shows the kubeconfig's token:\n%s%s", stdout.Bytes(), stderr.Bytes())
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("run the plugin: %v", err)
	}
	var te types.Error
	if jerr := json.Unmarshal(stdout.Bytes(), &te); jerr != nil {
		t.Fatalf("the plugin failed without a CNI error object on stdout (%v): %q\nstderr:\n%s", jerr, stdout.String(), stderr.String())
	}
	return nil, &te
}

// addEnv is the environment of an ADD for pod p.
func addEnv(p *podNS) map[string]string {
	return map[string]string{
		"CNI_COMMAND": "ADD", "CNI_CONTAINERID": p.rt.ContainerID, "CNI_NETNS": p.rt.NetNS, "CNI_IFNAME": "eth0",
		"CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + p.ref[0] + ";K8S_POD_NAME=" + p.ref[1],
	}
}

// netconf is our plugin's entry as a standalone network configuration.
func (n *node) netconf(t *testing.T, edit func(map[string]any)) []byte {
	t.Helper()
	c := n.ours(edit)
	c["cniVersion"] = "1.0.0"
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFaults: every way ADD can be refused gives the spec's code (or ours),
// a message that says what to fix, and a pod namespace exactly as before.
func TestFaults(t *testing.T) {
	n := newNode(t)
	n.kube.AddPod(kubefake.MeshedPod("default", "web"))
	bad := kubefake.MeshedPod("default", "bad-annotation")
	bad.Annotations = map[string]string{cni.AnnotationSkipInbound: "80,http"}
	n.kube.AddPod(bad)
	notNS := filepath.Join(n.dir, "not-a-netns")
	must(t, "write", os.WriteFile(notNS, nil, 0o600))

	type change struct {
		fault kubefake.Fault
		edit  func(map[string]any)                // our configuration
		env   func(p *podNS, e map[string]string) // the invocation
		stdin []byte                              // replaces the configuration
		pod   string
	}
	cases := []struct {
		name string
		change
		code uint
		msg  []string
	}{
		{"API 500", change{fault: kubefake.InternalError}, types.ErrTryAgainLater, []string{"read pod default/web", "injected internal error"}},
		{"API 404", change{fault: kubefake.NotFound}, cni.CodeAPIRefused, []string{"read pod default/web", "not found", "deleted meanwhile"}},
		{"API garbage", change{fault: kubefake.Garbage}, cni.CodeAPIRefused, []string{"read pod default/web", "not a Kubernetes object"}},
		{"API hangs past the timeout", change{fault: kubefake.Hang, edit: func(c map[string]any) {
			c["kubernetes"].(map[string]any)["timeout"] = "500ms"
		}}, types.ErrTryAgainLater, []string{"read pod default/web", "did not answer in time or could not be reached"}},
		{"API unreachable", change{edit: func(c map[string]any) {
			c["kubernetes"].(map[string]any)["kubeconfig"] = writeKubeconfig(t, n, "https://127.0.0.1:1")
		}}, types.ErrTryAgainLater, []string{"read pod default/web", "connection refused"}},
		{"kubeconfig missing", change{edit: func(c map[string]any) {
			c["kubernetes"].(map[string]any)["kubeconfig"] = "/nonexistent/kubeconfig"
		}}, types.ErrInvalidNetworkConfig, []string{"kubernetes.kubeconfig", "/nonexistent/kubeconfig"}},
		{"malformed CNI_ARGS", change{env: func(_ *podNS, e map[string]string) { e["CNI_ARGS"] = "K8S_POD_NAMESPACE=default;K8S_POD_NAME" }},
			types.ErrInvalidEnvironmentVariables, []string{"CNI_ARGS", `"K8S_POD_NAME"`}},
		{"configuration not JSON", change{stdin: []byte(`{"cniVersion":"1.0.0","name":"x","type":"proxy-init-cni",`)},
			types.ErrDecodingFailure, []string{"network config"}},
		{"port of the wrong type", change{edit: func(c map[string]any) { c["linkerd"].(map[string]any)["incoming-proxy-port"] = "4143" }},
			types.ErrInvalidNetworkConfig, []string{"linkerd.incoming-proxy-port", "a JSON string, must be a JSON number"}},
		{"port out of range", change{edit: func(c map[string]any) {
			c["linkerd"].(map[string]any)["inbound-ports-to-ignore"] = []string{"4190", "70000"}
		}},
			types.ErrInvalidNetworkConfig, []string{"linkerd.inbound-ports-to-ignore", "70000"}},
		{"proxy uid too large", change{edit: func(c map[string]any) { c["linkerd"].(map[string]any)["proxy-uid"] = 1 << 32 }},
			types.ErrInvalidNetworkConfig, []string{"linkerd.proxy-uid", "4294967296"}},
		{"bad timeout", change{edit: func(c map[string]any) { c["kubernetes"].(map[string]any)["timeout"] = "forever" }},
			types.ErrInvalidNetworkConfig, []string{"kubernetes.timeout", "forever"}},
		{"bad annotation", change{pod: "bad-annotation"}, types.ErrInvalidNetworkConfig,
			[]string{"annotation config.linkerd.io/skip-inbound-ports (on the pod)", "http"}},
		{"CNI_NETNS missing", change{env: func(_ *podNS, e map[string]string) { delete(e, "CNI_NETNS") }},
			types.ErrInvalidEnvironmentVariables, []string{"CNI_NETNS"}},
		{"CNI_NETNS does not exist", change{env: func(_ *podNS, e map[string]string) { e["CNI_NETNS"] = "/run/netns/pit-does-not-exist" }},
			types.ErrInvalidEnvironmentVariables, []string{"CNI_NETNS", "/run/netns/pit-does-not-exist", "no such file"}},
		{"CNI_NETNS not a namespace", change{env: func(_ *podNS, e map[string]string) { e["CNI_NETNS"] = notNS }},
			types.ErrInvalidEnvironmentVariables, []string{"CNI_NETNS", notNS, "not a network namespace"}},
		{"CNI_NETNS is the node's", change{env: func(_ *podNS, e map[string]string) { e["CNI_NETNS"] = fmt.Sprintf("/proc/%d/ns/net", os.Getpid()) }},
			types.ErrInvalidEnvironmentVariables, []string{"CNI_NETNS", "the plugin's own network namespace"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := c.pod
			if name == "" {
				name = "web"
			}
			p := n.newPod("default", name)
			p.ns.LoadNft(t, bystander)
			before := p.ruleset(t)
			nodeBefore := nodeRuleset(t)
			env := addEnv(p)
			if c.env != nil {
				c.env(p, env)
			}
			stdin := c.stdin
			if stdin == nil {
				stdin = n.netconf(t, c.edit)
			}
			n.kube.SetFault(c.fault)
			defer n.kube.SetFault(kubefake.Healthy)
			_, err := n.run(t, env, stdin)
			te := cniError(t, err)
			t.Logf("code %d: %s", te.Code, te.Msg)
			if te.Code != c.code {
				t.Errorf("code %d (%q), want %d", te.Code, te.Msg, c.code)
			}
			for _, m := range c.msg {
				if !has(te.Msg, m) {
					t.Errorf("message %q lacks %q", te.Msg, m)
				}
			}
			if has(te.Msg, kubefake.Token) {
				t.Errorf("message shows the kubeconfig's token: %q", te.Msg)
			}
			if after := p.ruleset(t); after != before {
				t.Errorf("the pod's ruleset changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if after := nodeRuleset(t); after != nodeBefore {
				t.Errorf("the node's ruleset changed:\n%s", after)
			}
		})
	}
}

// TestNoPodInArgs: without K8S_POD_* in CNI_ARGS (not a Kubernetes pod) the
// plugin passes through, asks the API nothing and installs nothing.
func TestNoPodInArgs(t *testing.T) {
	n := newNode(t)
	for _, args := range []string{"", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default"} {
		p := n.newPod("default", "web")
		env := addEnv(p)
		env["CNI_ARGS"] = args
		out, err := n.run(t, env, n.netconf(t, nil))
		must(t, "ADD", err)
		var res map[string]any
		if json.Unmarshal(out, &res) != nil || len(res) != 1 || res["cniVersion"] != "1.0.0" {
			t.Errorf("CNI_ARGS %q: result %s, want an empty 1.0.0 result", args, out)
		}
		if rules := p.ruleset(t); rules != "" {
			t.Errorf("CNI_ARGS %q: rules installed:\n%s", args, rules)
		}
	}
	if got := n.kube.TotalRequests(); got != 0 {
		t.Errorf("%d API requests, want none", got)
	}
}

// TestConcurrentAdds: 20 ADDs at once into 20 pods all install, each its own
// pod's rules (CHECK passes for every pod).
func TestConcurrentAdds(t *testing.T) {
	n := newNode(t)
	const pods = 20
	ps := make([]*podNS, pods)
	for i := range ps {
		name := fmt.Sprintf("web-%d", i)
		pod := kubefake.MeshedPod("default", name)
		// Each pod gets a different configuration, so that a mix-up shows.
		pod.Annotations = map[string]string{cni.AnnotationSkipOutbound: fmt.Sprint(10000 + i)}
		n.kube.AddPod(pod)
		ps[i] = n.newPod("default", name)
	}
	list := n.conflist("1.0.0", n.ours(func(c map[string]any) { c["log_level"] = "warn" }))
	errs := make([]error, pods)
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { _, errs[i] = n.cni.AddNetworkList(ctx(t), list, p.rt) })
	}
	wg.Wait()
	for i, p := range ps {
		if errs[i] != nil {
			t.Errorf("pod %d: ADD: %v", i, errs[i])
			continue
		}
		if rules := p.ruleset(t); !has(rules, fmt.Sprintf("elements = { %d }", 10000+i)) {
			t.Errorf("pod %d lacks its own outbound port:\n%s", i, rules)
		}
		if err := n.cni.CheckNetworkList(ctx(t), list, p.rt); err != nil {
			t.Errorf("pod %d: CHECK: %v", i, err)
		}
	}
}

func nodeRuleset(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list ruleset (node): %v\n%s", err, out)
	}
	return string(out)
}

// writeKubeconfig is the fake server's kubeconfig pointing at server.
func writeKubeconfig(t *testing.T, n *node, server string) string {
	t.Helper()
	b, err := os.ReadFile(n.kubeconfig)
	must(t, "read kubeconfig", err)
	b = bytes.ReplaceAll(b, []byte(n.kube.URL()), []byte(server))
	path := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, "write kubeconfig", os.WriteFile(path, b, 0o600))
	return path
}

// TestDelWhenNamespaceGone: DEL succeeds when CNI_NETNS is missing, gone, or
// only the file an unmounted namespace leaves behind; it refuses the node's
// own namespace.
func TestDelWhenNamespaceGone(t *testing.T) {
	n := newNode(t)
	leftover := filepath.Join(n.dir, "unmounted-netns")
	must(t, "write", os.WriteFile(leftover, nil, 0o600))
	conf := n.netconf(t, nil)
	for _, netns := range []string{"", "/run/netns/pit-never-existed", leftover} {
		env := map[string]string{"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "gone", "CNI_IFNAME": "eth0",
			"CNI_ARGS": "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web"}
		if netns != "" {
			env["CNI_NETNS"] = netns
		}
		if _, err := n.run(t, env, conf); err != nil {
			t.Errorf("DEL with CNI_NETNS %q: %v", netns, err)
		}
	}
	// A table of ours in the node namespace (the test's own) that a DEL
	// aimed at it must not remove.
	if out, err := exec.Command("nft", "add", "table", "ip", "proxy_init").CombinedOutput(); err != nil {
		t.Fatalf("nft add table: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "ip", "proxy_init").Run() })
	before := nodeRuleset(t)
	env := map[string]string{"CNI_COMMAND": "DEL", "CNI_CONTAINERID": "node", "CNI_IFNAME": "eth0",
		"CNI_NETNS": fmt.Sprintf("/proc/%d/ns/net", os.Getpid())}
	_, err := n.run(t, env, conf)
	if te := cniError(t, err); te.Code != types.ErrInvalidEnvironmentVariables || !has(te.Msg, "plugin's own") {
		t.Errorf("DEL in the node's namespace: code %d %q", te.Code, te.Msg)
	}
	if after := nodeRuleset(t); after != before || !has(after, "table ip proxy_init") {
		t.Errorf("the node's ruleset changed:\n%s", after)
	}
}

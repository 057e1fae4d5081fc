package deploy

import (
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/topology"
)

// validatorArgs: Linkerd's validator invocation, with a connect address on
// the test pod's own link that nobody holds (so only our rules can answer,
// and nothing leaves the test's namespaces).
var validatorArgs = []string{"validate", "--listen-addr", "0.0.0.0:4140", "--connect-addr", "192.0.2.9:1404", "--timeout", "2s"}

// podmanPod is a podman pod on a network namespace the test made. The pod
// has no infra container (podman 4.3 refuses `pod create --network
// ns:PATH`), so every container joins the namespace by its path, as a CRI
// runtime's containers join the pod sandbox's.
type podmanPod struct {
	t    *testing.T
	name string
	ns   string
}

func newPodmanPod(t *testing.T) (*podmanPod, *topology.Topology) {
	t.Helper()
	images(t)
	tp := topology.New(t)
	p := &podmanPod{t: t, name: topology.OwnName("podman"), ns: tp.PodPath()}
	// Registered after topology's, so it runs first: containers leave the
	// namespace before it is deleted.
	t.Cleanup(func() {
		if out, err := podman("pod", "rm", "-f", p.name); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	})
	mustPodman(t, "pod", "create", "--infra=false", "--name", p.name)
	return p, tp
}

// add creates a container in the pod; init makes it an init container
// (kept after it exits, so that its exit code can be read).
func (p *podmanPod) add(name string, init bool, security []string, image string, args ...string) {
	p.t.Helper()
	argv := []string{"create", "--pod", p.name, "--name", p.name + "-" + name, "--network", "ns:" + p.ns}
	if init {
		argv = append(argv, "--init-ctr", "always")
	}
	argv = append(append(append(argv, security...), image), args...)
	mustPodman(p.t, argv...)
}

// exit returns a container's exit code and logs.
func (p *podmanPod) exit(name string) (string, string) {
	p.t.Helper()
	code := mustPodman(p.t, "inspect", "--format", "{{.State.ExitCode}}", p.name+"-"+name)
	logs := mustPodman(p.t, "logs", p.name+"-"+name)
	return code, logs
}

// What Linkerd's pods ask of the runtime: the init container gets
// NET_ADMIN alone, the validator nothing; both run as 65534 on a read-only
// root.
var (
	initSecurity      = []string{"--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--read-only", "--user", "65534:65534"}
	validatorSecurity = []string{"--cap-drop", "ALL", "--read-only", "--user", "65534:65534"}
)

// TestPodmanPodInitThenValidate: the init container installs the rules into
// the pod's namespace, then the app container's validator reads its own
// token back through them: exit 0.
func TestPodmanPodInitThenValidate(t *testing.T) {
	p, tp := newPodmanPod(t)
	p.add("init", true, initSecurity, nonroot, "--log-format", "json")
	p.add("validator", false, validatorSecurity, nonroot, validatorArgs...)
	mustPodman(t, "pod", "start", p.name)
	if code := mustPodman(t, "wait", p.name+"-validator"); code != "0" {
		_, initLogs := p.exit("init")
		_, logs := p.exit("validator")
		t.Fatalf("validator exit %s, want 0:\n%s\ninit container:\n%s", code, logs, initLogs)
	}
	if code, logs := p.exit("init"); code != "0" || !strings.Contains(logs, `"msg":"installed rules"`) {
		t.Fatalf("init container exit %s, logs:\n%s", code, logs)
	}
	if _, logs := p.exit("validator"); !strings.Contains(logs, `msg="validated: outbound TCP from this uid is redirected to the proxy port"`) || !strings.Contains(logs, "uid=65534") {
		t.Fatalf("validator logs lack the validated line:\n%s", logs)
	}
	if rules, err := tp.Run(topology.Pod, "nft", "list", "ruleset"); err != nil || !strings.Contains(rules, "table ip proxy_init") || !strings.Contains(rules, "table ip6 proxy_init") {
		t.Fatalf("pod namespace ruleset (%v):\n%s", err, rules)
	}
}

// TestPodmanPodWithoutInit: the same pod without the init container (a CNI
// plugin that did not run): the validator exits 95 and the pod shows it.
func TestPodmanPodWithoutInit(t *testing.T) {
	p, _ := newPodmanPod(t)
	p.add("validator", false, validatorSecurity, nonroot, validatorArgs...)
	mustPodman(t, "pod", "start", p.name)
	if code := mustPodman(t, "wait", p.name+"-validator"); code != "95" {
		t.Fatalf("validator exit %s, want 95", code)
	}
	_, logs := p.exit("validator")
	if !strings.Contains(logs, `msg="network validation failed"`) || !strings.Contains(logs, "are the proxy-init rules installed") {
		t.Fatalf("validator logs lack the failure and what to check:\n%s", logs)
	}
	// The pod reports the failed container and its code.
	status := mustPodman(t, "ps", "-a", "--filter", "pod="+p.name, "--format", "{{.Names}} {{.Status}}")
	if !strings.Contains(status, p.name+"-validator Exited (95)") {
		t.Fatalf("pod status does not show the validator's exit 95:\n%s", status)
	}
}

// TestImageConfig: both images run /proxy-init as 65534:65534 unless the
// pod says otherwise, in one layer (rootfs checks it holds only the binary).
func TestImageConfig(t *testing.T) {
	images(t)
	for _, image := range []string{nonroot, netadmin} {
		cfg := mustPodman(t, "image", "inspect", "--format", "{{.Config.User}} {{json .Config.Entrypoint}} {{len .RootFS.Layers}}", image)
		if cfg != `65534:65534 ["/proxy-init"] 1` {
			t.Errorf("%s: user, entrypoint, layers = %s; want 65534:65534 [\"/proxy-init\"] 1", image, cfg)
		}
	}
}

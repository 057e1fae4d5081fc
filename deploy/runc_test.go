package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/topology"
)

// rootfs copies an image's root filesystem into a directory of the test,
// with its extended attributes (the file capability), plus the empty mount
// points runc needs: a scratch image has no /proc, /dev or /sys, and a
// read-only root cannot grow them (a CRI runtime makes them in the
// container's writable layer before making it read-only).
func rootfs(t *testing.T, image string) string {
	t.Helper()
	mnt := mustPodman(t, "image", "mount", image)
	defer func() {
		if out, err := podman("image", "unmount", image); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}()
	dir := filepath.Join(t.TempDir(), "rootfs")
	if out, err := exec.Command("cp", "-a", "--preserve=all", mnt, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the image's root filesystem: %v\n%s", err, out)
	}
	// The image holds the binary and nothing else.
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 || entries[0].Name() != "proxy-init" {
		t.Fatalf("%s root filesystem: %v %v; want only proxy-init", image, entries, err)
	}
	for _, d := range []string{"proc", "dev", "sys"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type runcResult struct {
	code           int
	stdout, stderr string
}

// runcRun runs /proxy-init args... from root (an image's root filesystem,
// read-only) with runc in the network namespace ns, as a Kubernetes CRI
// runtime starts a container with runAsUser: 65534, allowPrivilegeEscalation:
// false and capabilities {drop: [ALL], add: caps}: the capabilities are in
// the bounding, effective and permitted sets, and not inheritable or ambient
// (podman would make them ambient for a non-root user, which hides what a
// file capability is for).
func runcRun(t *testing.T, ns, root string, caps []string, args ...string) runcResult {
	t.Helper()
	bundle := t.TempDir()
	if out, err := exec.Command("runc", "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	path := filepath.Join(bundle, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	if caps == nil {
		caps = []string{}
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["user"] = map[string]any{"uid": 65534, "gid": 65534}
	proc["args"] = append([]string{"/proxy-init"}, args...)
	proc["capabilities"] = map[string]any{"bounding": caps, "effective": caps, "permitted": caps}
	proc["noNewPrivileges"] = true
	// The default RLIMIT_NOFILE is refused where root lacks CAP_SYS_RESOURCE.
	delete(proc, "rlimits")
	spec["root"] = map[string]any{"path": root, "readonly": true}
	linux := spec["linux"].(map[string]any)
	joined := false
	for _, n := range linux["namespaces"].([]any) {
		if n := n.(map[string]any); n["type"] == "network" {
			n["path"] = ns
			joined = true
		}
	}
	// A spec without a network namespace entry would run the container,
	// and its install, in the host's namespace.
	if !joined {
		t.Fatalf("runc spec has no network namespace to point at %s: %v", ns, linux["namespaces"])
	}
	if raw, err = json.Marshal(spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	// Its own state directory: nothing shared with other runc users, and
	// `runc run` deletes the container when its process exits.
	cmd := exec.Command("runc", "--root", t.TempDir(), "run", "--bundle", bundle, topology.OwnName("runc"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("runc: %v", err)
	}
	return runcResult{code, stdout.String(), stderr.String()}
}

// TestRuncKubernetesCapabilities: under Kubernetes' capability sets, the
// plain non-root image cannot install (exit 1 naming CAP_NET_ADMIN, the
// kernel untouched) and the netadmin image, whose binary carries
// cap_net_admin+ep, can. The validator runs from the plain image with no
// capability; the netadmin binary cannot even be executed without
// NET_ADMIN in the bounding set, which is why the validator must not use it.
func TestRuncKubernetesCapabilities(t *testing.T) {
	images(t)
	plain, fcap := rootfs(t, nonroot), rootfs(t, netadmin)
	if out, err := exec.Command("getcap", filepath.Join(fcap, "proxy-init")).CombinedOutput(); err != nil || !strings.Contains(string(out), "cap_net_admin=ep") {
		t.Fatalf("the netadmin image lost its file capability (%v): %s", err, out)
	}
	if out, _ := exec.Command("getcap", filepath.Join(plain, "proxy-init")).CombinedOutput(); strings.TrimSpace(string(out)) != "" {
		t.Fatalf("the plain image has a file capability: %s", out)
	}
	tp := topology.New(t)
	ruleset := func() string {
		out, err := tp.Run(topology.Pod, "nft", "list", "ruleset")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	netAdmin := []string{"CAP_NET_ADMIN"}

	r := runcRun(t, tp.PodPath(), plain, netAdmin, "--log-level", "error")
	if r.code != 1 || !strings.Contains(r.stderr, "CAP_NET_ADMIN") {
		t.Fatalf("plain image, NET_ADMIN not ambient: exit %d (want 1), stderr (want CAP_NET_ADMIN named):\n%s", r.code, r.stderr)
	}
	t.Logf("plain image: %s", r.stderr)
	if got := ruleset(); got != "" {
		t.Fatalf("a refused run changed the namespace:\n%s", got)
	}

	if r := runcRun(t, tp.PodPath(), fcap, netAdmin); r.code != 0 || !strings.Contains(r.stderr, "installed rules") {
		t.Fatalf("netadmin image: exit %d (want 0):\n%s", r.code, r.stderr)
	}
	if got := ruleset(); !strings.Contains(got, "table ip proxy_init") || !strings.Contains(got, "table ip6 proxy_init") {
		t.Fatalf("netadmin image installed:\n%s", got)
	}
	if r := runcRun(t, tp.PodPath(), fcap, netAdmin, "verify"); r.code != 0 {
		t.Fatalf("netadmin image verify: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The validator: no capability at all, and the rules redirect it.
	r = runcRun(t, tp.PodPath(), plain, nil, validatorArgs...)
	if r.code != 0 || !strings.Contains(r.stderr, "validated") {
		t.Fatalf("validator from the plain image: exit %d (want 0):\n%s", r.code, r.stderr)
	}
	r = runcRun(t, tp.PodPath(), fcap, nil, validatorArgs...)
	if r.code == 0 || !strings.Contains(r.stderr, "operation not permitted") {
		t.Fatalf("validator from the netadmin image without NET_ADMIN: exit %d, want an exec refused:\n%s", r.code, r.stderr)
	}
	t.Logf("netadmin image without NET_ADMIN: %s", r.stderr)
}

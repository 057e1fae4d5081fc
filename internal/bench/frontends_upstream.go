package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/proxy-init/netlink-native/internal/netns"
)

// upstreamCNIEnv names upstream's linkerd-cni plugin binary. Its module is
// not served by the Go module proxy, so the bench cannot build it: the user
// builds it from linkerd2-proxy-init's source (cni-plugin/) and says where.
const upstreamCNIEnv = "BENCH_UPSTREAM_CNI"

// upstreamCNICommit is the upstream source the rows were set up against:
// its configuration keys, its kubeconfig context, its API reads.
const upstreamCNICommit = "183e791"

// upstreamHow is what the report says when upstream's rows were not run.
func upstreamHow() string {
	return fmt.Sprintf("set %s to upstream's plugin built from source (commit %s)", upstreamCNIEnv, upstreamCNICommit)
}

// Upstream's plugin beside ours, in the same rounds, from the same node
// namespace against the same API server (TLS, the same kubeconfig), each
// ADD into a fresh pod namespace. It execs `nsenter --net=POD` and
// iptables-nft (and ip6tables-nft with ipv6 true) once per rule change, so
// its rows include those processes: that is what a node pays for it.
var upstreamCNIFrontEnd = frontEnd{
	key: "cni-upstream", name: "upstream's CNI plugin (linkerd-cni ADD)",
	probe:   func(r *runner) string { return r.findUpstreamCNI() },
	prepare: func(r *runner) error { return r.prepareUpstreamCNI() },
	rows: func(r *runner) []frontRow {
		up, podPath := []string{r.cni.upstream}, r.cniPodPath()
		return []frontRow{
			r.cniRow("up-meshed", "upstream's linkerd-cni ADD, a meshed pod, `ipv6: true` (both families, as ours)", r.cni.upConf, up, r.cniAdd("meshed", podPath)...),
			r.cniRow("up-meshed-v4", "upstream's linkerd-cni ADD, a meshed pod, `ipv6: false` (IPv4 only, its default)", r.cni.upConfV4, up, r.cniAdd("meshed", podPath)...),
			r.cniRow("up-skip", "upstream's linkerd-cni ADD, an unmeshed pod: reads the pod, installs nothing", r.cni.upConf, up, r.cniAdd("unmeshed", podPath)...),
			r.cniVersionRow("up-version", "upstream's linkerd-cni VERSION: the process alone", r.cni.upstream),
		}
	},
}

// findUpstreamCNI says why upstream's rows cannot be measured, "" if they
// can.
func (r *runner) findUpstreamCNI() string {
	bin := os.Getenv(upstreamCNIEnv)
	if bin == "" {
		return upstreamHow()
	}
	if r.cni.node == "" {
		return "it runs beside ours, which was not measured"
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return fmt.Sprintf("%s=%s: %v", upstreamCNIEnv, bin, err)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Sprintf("%s=%s is not an executable file", upstreamCNIEnv, bin)
	}
	for _, cmd := range []string{"nsenter", "iptables-nft", "ip6tables-nft"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return "upstream's plugin execs " + cmd + ", which is not on PATH"
		}
	}
	r.cni.upstream = abs
	return ""
}

// prepareUpstreamCNI writes upstream's two configurations (ours' keys, its
// type, iptables-mode nft, ipv6 true and false) and checks, untimed, that
// its ADD really installs its rules for the meshed pod and none for the
// unmeshed one: otherwise its rows would time an error path.
func (r *runner) prepareUpstreamCNI() error {
	var err error
	conf := func(name string, ipv6 bool) string {
		if err != nil {
			return ""
		}
		c := maps.Clone(r.cni.fields)
		l := maps.Clone(c["linkerd"].(map[string]any))
		l["iptables-mode"], l["ipv6"] = "nft", ipv6
		c["type"], c["linkerd"] = "linkerd-cni", l
		path := filepath.Join(r.tmp, name)
		err = writeJSON(path, c)
		return path
	}
	r.cni.upConf, r.cni.upConfV4 = conf("upstream-cni.json", true), conf("upstream-cni-v4.json", false)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		conf, pod string
		want      []string // in the pod's ruleset after the ADD; nil: empty
		unwanted  string
	}{
		{r.cni.upConf, "meshed", []string{"table ip nat", "table ip6 nat", "PROXY_INIT_REDIRECT", "redirect to :4143", "PROXY_INIT_OUTPUT"}, ""},
		{r.cni.upConfV4, "meshed", []string{"table ip nat", "PROXY_INIT_REDIRECT", "redirect to :4143"}, "table ip6"},
		{r.cni.upConf, "unmeshed", nil, ""},
	} {
		ruleset, err := r.cniCheckRun(c.conf, c.pod)
		if err != nil {
			return fmt.Errorf("check run of %s ADD %s with %s: %w", r.cni.upstream, c.pod, filepath.Base(c.conf), err)
		}
		bad := c.want == nil && strings.TrimSpace(ruleset) != "" || c.unwanted != "" && strings.Contains(ruleset, c.unwanted)
		for _, w := range c.want {
			bad = bad || !strings.Contains(ruleset, w)
		}
		if bad {
			return fmt.Errorf("check run of upstream's ADD %s with %s: unexpected ruleset in the pod namespace:\n%s", c.pod, filepath.Base(c.conf), ruleset)
		}
	}
	bin, err := binaryOf(r.cni.upstream, "$"+upstreamCNIEnv)
	r.res.UpstreamCNIBinary = bin
	return err
}

// cniCheckRun runs upstream's ADD once, as a row does, into a pod
// namespace of its own (held by our descriptor only), and returns that
// namespace's ruleset; the namespace ends with the descriptor.
func (r *runner) cniCheckRun(conf, pod string) (string, error) {
	ns, err := netns.New()
	if err != nil {
		return "", err
	}
	defer ns.Close()
	path := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.Fd())
	stdin, err := os.Open(conf)
	if err != nil {
		return "", err
	}
	defer stdin.Close()
	add := exec.Command("nsenter", "--net="+r.cni.node, r.cni.upstream)
	add.Stdin = stdin
	add.Env = append(os.Environ(), r.cniAdd(pod, path)...)
	if out, err := add.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s", err, tail(out))
	}
	out, err := exec.Command("nsenter", "--net="+path, "nft", "list", "ruleset").Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("nft list ruleset: %w: %s", err, tail(ee.Stderr))
	}
	return string(out), err
}

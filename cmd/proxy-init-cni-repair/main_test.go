package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// The tests run the built binary, as the DaemonSet runs it. The ones that
// talk to an API server and serve the admin port do so on the loopback of a
// node namespace of the test process's own (testns.RunInNodeNamespace),
// never the host's.

var binary string

func TestMain(m *testing.M) {
	// TestAgainstAPI runs the binary as nobody: RunWithCommand's directory
	// is readable by all.
	os.Exit(testns.RunWithCommand(m, "proxy-init-cni-repair", func(b string) { binary = b }))
}

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	// Only what the test gives: no KUBECONFIG or controller variable of
	// the caller's leaks in.
	cmd.Env = append([]string{"HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{code, out.String(), errb.String()}
}

var required = []string{"--node-name", "node-a", "--controller-pod-name", "linkerd-cni-abcde"}

// TestBadInput: every bad flag or variable exits 2 with one line naming it
// and its value, before anything is contacted.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		env, args []string
		mentions  []string
	}{
		{"no node name", nil, []string{"--controller-pod-name", "p"}, []string{"--node-name", "LINKERD_CNI_REPAIR_CONTROLLER_NODE_NAME"}},
		{"no pod name", nil, []string{"--node-name", "n"}, []string{"--controller-pod-name", "LINKERD_CNI_REPAIR_CONTROLLER_POD_NAME"}},
		{"log level", nil, append(required, "--log-level", "loud"), []string{"--log-level", `"loud"`}},
		{"log level filter", nil, append(required, "--log-level", "linkerd=info,bogus"), []string{"--log-level", `"linkerd=info,bogus"`}},
		{"log level env", []string{"LINKERD_CNI_REPAIR_CONTROLLER_LOG_LEVEL=loud"}, required, []string{"LINKERD_CNI_REPAIR_CONTROLLER_LOG_LEVEL", `"loud"`}},
		{"log format", nil, append(required, "--log-format", "xml"), []string{"--log-format", `"xml"`}},
		{"log format env", []string{"LINKERD_CNI_REPAIR_CONTROLLER_LOG_FORMAT=xml"}, required, []string{"LINKERD_CNI_REPAIR_CONTROLLER_LOG_FORMAT", `"xml"`}},
		{"admin addr", nil, append(required, "--admin-addr", "9990"), []string{"--admin-addr", `"9990"`}},
		{"mode", nil, append(required, "--repair-mode", "fix"), []string{"--repair-mode", `"fix"`}},
		{"in-place without config", nil, append(required, "--repair-mode", "in-place"), []string{"--cni-config"}},
		{"in-place config missing", nil, append(required, "--repair-mode", "in-place", "--cni-config", dir+"/nope"), []string{"--cni-config", dir + "/nope"}},
		{"cri socket", nil, append(required, "--repair-mode", "in-place", "--cni-config", dir, "--cri-socket", "tcp://1.2.3.4:1"), []string{"--cri-socket", `"tcp://1.2.3.4:1"`}},
		{"unknown flag", nil, append(required, "--nodename", "x"), []string{"--nodename"}},
		{"argument", nil, append(required, "extra"), []string{`"extra"`}},
		{"kubeconfig", nil, append(required, "--kubeconfig", dir+"/missing"), []string{"--kubeconfig", dir + "/missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, tc.env, tc.args...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if tc.name == "unknown flag" {
				lines = lines[:1] // pflag prints the usage after its line
			}
			if len(lines) != 1 {
				t.Errorf("%d lines on stderr, want 1:\n%s", len(lines), r.stderr)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(lines[0], m) {
					t.Errorf("error line %q does not mention %s", lines[0], m)
				}
			}
		})
	}
}

// TestFlagBeatsEnvironment: a flag wins over its variable (the bad value in
// the variable is never read), and a variable stands in for a missing flag.
func TestFlagBeatsEnvironment(t *testing.T) {
	missing := t.TempDir() + "/missing"
	r := runBin(t, []string{"LINKERD_CNI_REPAIR_CONTROLLER_LOG_FORMAT=xml", "LINKERD_CNI_REPAIR_CONTROLLER_NODE_NAME="},
		append(required, "--log-format", "json", "--kubeconfig", missing)...)
	if r.code != 2 || strings.Contains(r.stderr, "xml") || !strings.Contains(r.stderr, "--kubeconfig") {
		t.Errorf("exit %d, stderr %q: want 2 for the kubeconfig, the variable's xml unread", r.code, r.stderr)
	}
	r = runBin(t, []string{"LINKERD_CNI_REPAIR_CONTROLLER_NODE_NAME=node-a", "LINKERD_CNI_REPAIR_CONTROLLER_POD_NAME=p"}, "--kubeconfig", missing)
	if r.code != 2 || !strings.Contains(r.stderr, "--kubeconfig") {
		t.Errorf("exit %d, stderr %q: the variables should stand in for the required flags", r.code, r.stderr)
	}
}

func TestHelp(t *testing.T) {
	r := runBin(t, nil, "--help")
	if r.code != 0 || !strings.Contains(r.stderr, "--repair-mode") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
}

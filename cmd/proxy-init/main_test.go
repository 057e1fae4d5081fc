package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// binary is proxy-init built once for every test of this package that runs
// the real executable.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "proxy-init-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Others may enter it: the privilege tests run the binary as nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if binary, err = testns.BuildProxyInit(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// runBinary runs proxy-init with args; cmd may be adjusted by the caller.
func runBinary(t testing.TB, args ...string) result {
	t.Helper()
	return runCmd(t, binaryCommand(t, args...))
}

// binaryCommand runs the binary inside a throwaway namespace of its own,
// even when the test passes --netns or expects a refusal: a run that
// wrongly ignored its --netns, or input wrongly accepted (an apply where a
// hint, --version or exit 2 was expected), can then change only that
// namespace, never the host's (as root, a stray apply would redirect the
// host's TCP).
func binaryCommand(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	return testns.New(t).Command(binary, args...)
}

func runCmd(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return result{code, out.String(), errb.String()}
}

func TestCLIApplyVerifyShowRemove(t *testing.T) {
	ns := testns.New(t)
	flags := []string{"--netns", ns.Path(), "--inbound-ports-to-ignore", "4190,4191", "--subnets-to-ignore", "10.0.0.0/8,fd00::/8", "--log-format", "json"}
	r := runBinary(t, flags...)
	if r.code != 0 {
		t.Fatalf("apply exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, `"msg":"installed rules"`) || !strings.Contains(r.stderr, `"inbound_ports_to_ignore":"4190-4191"`) {
		t.Fatalf("apply logs lack the decision or the merged configuration:\n%s", r.stderr)
	}
	// The listing equals what --simulate renders (minus the replace idiom).
	sim := runBinary(t, append(flags[2:], "--simulate")...)
	if sim.code != 0 || !strings.HasSuffix(sim.stdout, ns.Ruleset(t)) {
		t.Fatalf("--simulate (exit %d) does not end with the live listing:\n%s\n---\n%s", sim.code, sim.stdout, ns.Ruleset(t))
	}
	if r := runBinary(t, append([]string{"verify"}, flags...)...); r.code != 0 {
		t.Fatalf("verify exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, flags...)
	if r.code != 0 || !strings.Contains(r.stderr, "nothing changed") {
		t.Fatalf("re-apply exit %d, want one line saying nothing changed:\n%s", r.code, r.stderr)
	}
	// verify against another configuration: exit 3 and a readable diff.
	r = runBinary(t, "verify", "--netns", ns.Path(), "--inbound-ports-to-ignore", "4190")
	if r.code != exitMismatch || !strings.Contains(r.stdout, "-\t\telements = { 4190 }") || !strings.Contains(r.stdout, "+\t\telements = { 4190-4191 }") {
		t.Fatalf("verify mismatch: exit %d, stdout:\n%s", r.code, r.stdout)
	}
	r = runBinary(t, "show", "--netns", ns.Path())
	if r.code != 0 || !strings.Contains(r.stdout, "counter packets") || !strings.Contains(r.stdout, "elements = { fd00::/8 }") {
		t.Fatalf("show exit %d:\n%s", r.code, r.stdout)
	}
	if r := runBinary(t, "remove", "--netns", ns.Path()); r.code != 0 {
		t.Fatalf("remove exit %d: %s", r.code, r.stderr)
	}
	if l := ns.Ruleset(t); l != "" {
		t.Fatalf("ruleset after remove:\n%s", l)
	}
}

func TestCLISimulateNeedsNoKernel(t *testing.T) {
	// --simulate must work anywhere, even without privileges or namespaces.
	r := runBinary(t, "--simulate", "--ipv6=false", "-r", "8080,9090", "-u", "1000", "-g", "1001")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"table ip proxy_init\ndelete table ip proxy_init\n",
		"elements = { 8080, 9090 }",
		"tcp dport @redirect_ports counter packets 0 bytes 0 redirect to :4143",
		"meta skuid 1000", "meta skgid 1001",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("simulate output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "ip6") {
		t.Error("simulate with --ipv6=false mentions ip6")
	}
}

// A list that comes from a YAML block or a file ends in a newline; it is
// read as the same list, as upstream's StringSlice flags read it.
func TestCLIListWithTrailingNewline(t *testing.T) {
	simulateShows(t, []string{"--inbound-ports-to-ignore", "4190,4191\n", "--subnets-to-ignore", "10.0.0.0/8\r\n"},
		"elements = { 4190-4191 }", "elements = { 10.0.0.0/8 }")
}

// Items are trimmed of spaces in every list, ports as well as subnets.
func TestCLIListItemsAreTrimmed(t *testing.T) {
	simulateShows(t, []string{"--inbound-ports-to-ignore", "80, 90", "--subnets-to-ignore", "10.0.0.0/8, 12.0.0.0/8"},
		"elements = { 80, 90 }", "elements = { 10.0.0.0/8, 12.0.0.0/8 }")
}

// simulateShows runs --simulate (IPv4 only) with args and wants each of
// wants in what it prints.
func simulateShows(t *testing.T, args []string, wants ...string) {
	t.Helper()
	r := runBinary(t, append([]string{"--simulate", "--ipv6=false"}, args...)...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range wants {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("simulate output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestCLIIgnoredUpstreamFlags(t *testing.T) {
	r := runBinary(t, "--simulate", "--iptables-mode", "legacy", "-w", "--firewall-bin-path", "/sbin/iptables", "--firewall-save-bin-path", "/sbin/iptables-save")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{"--iptables-mode", "--use-wait-flag", "--firewall-bin-path", "--firewall-save-bin-path"} {
		if strings.Count(r.stderr, "flag="+f+" ") != 1 {
			t.Errorf("want one log line for ignored %s, got:\n%s", f, r.stderr)
		}
	}
}

func TestCLICloseWaitSysctl(t *testing.T) {
	ns := testns.New(t)
	r := runBinary(t, "--netns", ns.Path(), "--timeout-close-wait-secs", "37")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := strings.TrimSpace(ns.Run(t, "cat", "/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_close_wait"))
	if got != "37" {
		t.Fatalf("close-wait timeout in the namespace = %s, want 37", got)
	}
}

// TestCLIWarnsAboutLegacyIptablesNAT: legacy (x_tables) nat rules run on the
// same hooks as ours and can shadow them; the run says so, once, and still
// installs.
func TestCLIWarnsAboutLegacyIptablesNAT(t *testing.T) {
	clean := testns.New(t)
	if r := runBinary(t, "--netns", clean.Path()); r.code != 0 || strings.Contains(r.stderr, "legacy iptables") {
		t.Fatalf("clean namespace: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	ns := testns.New(t)
	ns.Run(t, "iptables-legacy", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "9", "-j", "RETURN")
	r := runBinary(t, "--netns", ns.Path())
	if r.code != 0 || strings.Count(r.stderr, "legacy iptables nat rules exist") != 1 {
		t.Fatalf("exit %d, want exactly one warning about legacy nat rules:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(ns.Ruleset(t), "table ip proxy_init") {
		t.Fatal("the warning stopped the install")
	}
}

// TestCLIDebugLogsInstalledRuleset: at debug level the installed ruleset is
// logged in nft syntax; at info level it is not (it is not free to render).
func TestCLIDebugLogsInstalledRuleset(t *testing.T) {
	ns := testns.New(t)
	r := runBinary(t, "--netns", ns.Path(), "--log-level", "debug")
	if r.code != 0 || !strings.Contains(r.stderr, "installed ruleset") || !strings.Contains(r.stderr, "chain PROXY_INIT_OUTPUT") {
		t.Fatalf("exit %d, debug log lacks the ruleset:\n%s", r.code, r.stderr)
	}
	other := testns.New(t)
	if r := runBinary(t, "--netns", other.Path()); r.code != 0 || strings.Contains(r.stderr, "installed ruleset") {
		t.Fatalf("exit %d, or info level logged the ruleset:\n%s", r.code, r.stderr)
	}
}

// TestCLISimulateOnlyWithApply: --simulate promises a dry run, which only
// apply can honour; remove, verify and show refuse it instead of acting.
func TestCLISimulateOnlyWithApply(t *testing.T) {
	ns := testns.New(t)
	if r := runBinary(t, "--netns", ns.Path()); r.code != 0 {
		t.Fatalf("apply exit %d: %s", r.code, r.stderr)
	}
	before := ns.Ruleset(t)
	for _, cmd := range []string{"remove", "verify", "show"} {
		r := runBinary(t, cmd, "--simulate", "--netns", ns.Path())
		if r.code != exitUsage || !strings.Contains(r.stderr, "--simulate") {
			t.Errorf("%s --simulate: exit %d, stderr %q; want exit 2 naming --simulate", cmd, r.code, r.stderr)
		}
	}
	if after := ns.Ruleset(t); after != before {
		t.Fatalf("ruleset changed:\n%s", after)
	}
}

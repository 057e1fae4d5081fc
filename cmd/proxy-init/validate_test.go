package main

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// Upstream's parse_timeout cases, plus Go durations, which we also take.
func TestValidateParseTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0": 0, "0ms": 0, "0s": 0, "0m": 0, "120s": 120 * time.Second, "120000ms": 120 * time.Second,
		"2m": 2 * time.Minute, "2h": 2 * time.Hour, "2d": 48 * time.Hour, " 10s\n": 10 * time.Second,
		"1m30s": 90 * time.Second, "1.5s": 1500 * time.Millisecond,
	} {
		if got, err := parseTimeout(in); err != nil || got != want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"120", "s", "foobars", "18446744073709551615s", "-1s", "", "10 s"} {
		if got, err := parseTimeout(in); err == nil {
			t.Errorf("parseTimeout(%q) = %v, want an error", in, got)
		}
	}
}

// Bad flags or log settings: exit 2 and one line naming the flag (or the
// environment variable) and the value, before any socket is made.
func TestValidateBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"--listen-addr", "0.0.0.0"}, "", `"0.0.0.0" for --listen-addr`},
		{[]string{"--connect-addr", "fd00::1:20001"}, "", `"fd00::1:20001" for --connect-addr`},
		{[]string{"--connect-addr", "example.com:80"}, "", `"example.com:80" for --connect-addr`},
		{[]string{"--timeout", "10"}, "", `"10" for --timeout: needs a unit`},
		{[]string{"--timeout", "soon"}, "", `"soon" for --timeout`},
		{[]string{"--log-level", "loud"}, "", `"loud" for --log-level`},
		{[]string{"--log-format", "xml"}, "", `"xml" for --log-format`},
		{nil, "LINKERD_NETWORK_VALIDATOR_LOG_LEVEL=loud", `"loud" for LINKERD_NETWORK_VALIDATOR_LOG_LEVEL`},
		{nil, "LINKERD_NETWORK_VALIDATOR_LOG_FORMAT=xml", `"xml" for LINKERD_NETWORK_VALIDATOR_LOG_FORMAT`},
		{[]string{"--bogus"}, "", "--bogus"},
		{[]string{"extra"}, "", `unexpected argument "extra"`},
	} {
		// In a namespace of its own, so that an input wrongly accepted
		// cannot make the validator connect anywhere from the host's.
		cmd := testns.New(t).Command(binary, append([]string{"validate"}, c.args...)...)
		if c.env != "" {
			cmd.Env = append(cmd.Environ(), c.env)
		}
		r := runCmd(t, cmd)
		if r.code != exitUsage || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("validate %v %s: exit %d (want 2), stderr %q (want one line containing %q)", c.args, c.env, r.code, r.stderr, c.want)
		}
	}
	if r := runBinary(t, "validate", "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "proxy-init ") {
		t.Errorf("validate --version: exit %d, stdout %q", r.code, r.stdout)
	}
	r := runBinary(t, "validate", "--help")
	for _, flag := range []string{"--listen-addr", `"0.0.0.0:4140"`, "--connect-addr", `"192.0.2.2:1404"`, "--timeout", `"10s"`, "--log-level", "--log-format"} {
		if r.code != 0 || !strings.Contains(r.stdout, flag) {
			t.Errorf("validate --help: exit %d, usage lacks %s:\n%s", r.code, flag, r.stdout)
		}
	}
}

// validatePod makes a pod namespace with cfg's rules installed (none if
// cfg is nil) and returns a function that runs `proxy-init validate` in it
// as uid and gid 65534 with no capabilities at all, as Linkerd runs it.
func validatePod(t *testing.T, cfg *nat.Config) func(args ...string) *exec.Cmd {
	t.Helper()
	tp := topology.New(t)
	if cfg != nil {
		if _, err := pod.Apply(context.Background(), pod.AtPath(tp.PodPath()), *cfg, pod.ApplyOptions{}); err != nil {
			t.Fatalf("install rules: %v", err)
		}
	}
	return func(args ...string) *exec.Cmd {
		argv := append(append([]string{"--net=" + tp.PodPath(), "setpriv"}, asNobody()...), binary, "validate")
		return exec.Command("nsenter", append(argv, args...)...)
	}
}

// Connect addresses: on the pod's veth prefixes, held by nobody, so nothing
// but our rules can answer and nothing leaves the test's namespaces.
const (
	connect4 = "192.0.2.9:1404"
	connect6 = "[2001:db8::9]:20001"
)

func TestValidateWithRules(t *testing.T) {
	cfg := nat.DefaultConfig()
	validate := validatePod(t, &cfg)
	for _, c := range []struct{ name, format, match string }{
		{"default listen address", "plain", `level=INFO msg="validated: outbound TCP from this uid is redirected to the proxy port" connect_addr=192.0.2.9:1404 listen_addr=0.0.0.0:4140 uid=65534`},
		{"IPv4", "json", `"level":"INFO","msg":"validated: outbound TCP from this uid is redirected to the proxy port","connect_addr":"192.0.2.9:1404","listen_addr":"0.0.0.0:4140","uid":65534}`},
		{"IPv6", "plain", `connect_addr=[2001:db8::9]:20001 listen_addr=[::]:4140 uid=65534`},
	} {
		// Not upstream's default connect address: it is the pod's own
		// here, and traffic to a local address leaves by lo, which the
		// rules exempt.
		args := []string{"--connect-addr", connect4}
		switch c.name {
		case "IPv4":
			args = append(args, "--listen-addr", "0.0.0.0:4140")
		case "IPv6":
			args = []string{"--listen-addr", "[::]:4140", "--connect-addr", connect6}
		}
		r := runCmd(t, validate(append(args, "--log-format", c.format)...))
		if r.code != 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, c.match) {
			t.Errorf("%s: exit %d (want 0), stderr (want one line containing %s):\n%s", c.name, r.code, c.match, r.stderr)
		}
	}
}

// Without rules, or with rules that exempt the validator's own uid or gid,
// nothing answers: exit 95 after the timeout, with one line that says what
// to check.
func TestValidateNotRedirected(t *testing.T) {
	exemptUID, exemptGID := nat.DefaultConfig(), nat.DefaultConfig()
	exemptUID.ProxyUID = 65534
	exemptGID.ProxyUID, exemptGID.ProxyGID = -1, 65534
	for _, c := range []struct {
		name string
		cfg  *nat.Config
	}{{"no rules", nil}, {"-u 65534", &exemptUID}, {"-g 65534", &exemptGID}} {
		validate := validatePod(t, c.cfg)
		for _, args := range [][]string{
			{"--connect-addr", connect4},
			{"--listen-addr", "[::]:4140", "--connect-addr", connect6},
		} {
			r := runCmd(t, validate(append(args, "--timeout", "500ms")...))
			if r.code != exitNotValidated || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%s %v: exit %d (want 95), stderr (want one line):\n%s", c.name, args, r.code, r.stderr)
			}
			for _, want := range []string{`level=ERROR msg="network validation failed"`, "context deadline exceeded",
				"no answer within 500ms", "are the proxy-init rules installed", "is this uid exempted by --proxy-uid", "uid=65534 gid=65534"} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("%s %v: stderr lacks %q:\n%s", c.name, args, want, r.stderr)
				}
			}
		}
	}
	// The same rules do redirect another uid: the exemption is what failed.
	tp := topology.New(t)
	if _, err := pod.Apply(context.Background(), pod.AtPath(tp.PodPath()), exemptUID, pod.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := runCmd(t, exec.Command("nsenter", "--net="+tp.PodPath(), binary, "validate", "--connect-addr", connect4)); r.code != 0 {
		t.Fatalf("as root with -u 65534 rules: exit %d: %s", r.code, r.stderr)
	}
}

// SIGTERM (the kubelet stopping the pod) and SIGINT mid-check: exit 95, and
// the line names the signal.
func TestValidateSignal(t *testing.T) {
	validate := validatePod(t, nil)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := validate("--connect-addr", connect4, "--timeout", "1m", "--log-level", "debug")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// nsenter (entering no pid namespace) and setpriv exec in place:
		// once it logs, the pid is the validator's.
		sc := bufio.NewScanner(stderr)
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
			if strings.Contains(sc.Text(), "msg=connecting") {
				break
			}
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(stderr)
		err = cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		out := strings.Join(lines, "\n") + "\n" + string(rest)
		if !ok || ee.ExitCode() != exitNotValidated || !strings.Contains(string(rest), "stopped by "+signalError{sig}.String()) {
			t.Errorf("%v: %v (want exit 95 naming the signal):\n%s", sig, err, out)
		}
	}
}

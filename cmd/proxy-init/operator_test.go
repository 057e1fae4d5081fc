package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// The operator's first five minutes: what a new user types first works, or
// says what to type instead.

// The command word may come anywhere on the line, as flags may.
func TestCLICommandWordAnywhere(t *testing.T) {
	ns := testns.New(t)
	if r := runBinary(t, "--netns", ns.Path(), "--inbound-ports-to-ignore", "4190", "apply"); r.code != 0 {
		t.Fatalf("flags then apply: exit %d: %s", r.code, r.stderr)
	}
	r := runBinary(t, "--netns", ns.Path(), "show")
	if r.code != 0 || !strings.Contains(r.stdout, "elements = { 4190 }") {
		t.Fatalf("flags then show: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runBinary(t, "--netns", ns.Path(), "verify", "--inbound-ports-to-ignore", "4190"); r.code != 0 {
		t.Fatalf("verify between flags: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if r := runBinary(t, "--netns", ns.Path(), "remove"); r.code != 0 || ns.Ruleset(t) != "" {
		t.Fatalf("flags then remove: exit %d: %s", r.code, r.stderr)
	}
	if r := runBinary(t, "--netns", ns.Path(), "show", "apply"); r.code != exitUsage || !strings.Contains(r.stderr, `unexpected argument "apply"`) {
		t.Fatalf("two command words: exit %d: %s", r.code, r.stderr)
	}
}

// "--ipv6 false" is --ipv6 (true) and a stray "false"; upstream ignores the
// stray word and programs IPv6. We refuse it and say what to write.
func TestCLIBoolFlagWithSpaceGetsAHint(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ipv6", "false"}, "--ipv6=false"},
		{[]string{"--simulate", "true", "--ipv6=false"}, "--simulate=true"},
		// The value of a flag that takes one is no stray word, even when
		// it reads as a boolean.
		{[]string{"--proxy-gid", "1", "--ipv6", "1"}, "--ipv6=1"},
		{[]string{"-u", "1", "-w", "1"}, "-w=1"},
	} {
		args := tc.args
		r := runBinary(t, args...)
		want := "write " + tc.want
		if r.code != exitUsage || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line saying %q", args, r.code, r.stderr, want)
		}
	}
}

func TestCLIVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := runBinary(t, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "proxy-init ") || strings.Count(r.stdout, "\n") != 1 || r.stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		r := runBinary(t, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: proxy-init [") || !strings.Contains(r.stdout, "--incoming-proxy-port") || !strings.Contains(r.stdout, "  verify ") {
			t.Errorf("%q: exit %d, stdout:\n%s\nstderr: %s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// With --log-format json, the failure is one JSON record (a log pipeline
// parses every line), with the exit code unchanged; plain stays plain.
func TestCLIJSONFinalError(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		flag string
	}{
		{[]string{"--log-format", "json", "-p", "0"}, exitUsage, "--incoming-proxy-port"},
		{[]string{"--bogus", "--log-format=json"}, exitUsage, ""},
		{[]string{"--log-format=json", "--netns", "/nonexistent/netns"}, exitUsage, "--netns"},
		{[]string{"--log-format", "json", "--ipv6", "false"}, exitUsage, ""},
	} {
		r := runBinary(t, tc.args...)
		if r.code != tc.code {
			t.Errorf("%q: exit %d, want %d: %s", tc.args, r.code, tc.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		for _, l := range lines {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Errorf("%q: stderr line is not JSON: %q", tc.args, l)
			}
		}
		var last map[string]any
		_ = json.Unmarshal([]byte(lines[len(lines)-1]), &last)
		if last["level"] != "ERROR" || last["exit_code"] != float64(tc.code) || last["error"] == nil || (tc.flag != "" && last["flag"] != tc.flag) {
			t.Errorf("%q: final record %v lacks level ERROR, exit_code %d, error or flag %q", tc.args, last, tc.code, tc.flag)
		}
	}
	if r := runBinary(t, "-p", "0"); r.code != exitUsage || !strings.HasPrefix(r.stderr, "proxy-init: ") {
		t.Errorf("plain: exit %d, stderr %q", r.code, r.stderr)
	}
}

// show on a namespace without our tables says so in one line on stderr,
// instead of printing nothing, and still succeeds.
func TestCLIShowOnEmptyNamespaceSaysSo(t *testing.T) {
	ns := testns.New(t)
	for _, level := range []string{"info", "warn"} {
		r := runBinary(t, "show", "--netns", ns.Path(), "--log-level", level)
		if r.code != 0 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "no proxy_init tables") {
			t.Fatalf("--log-level %s: exit %d, stdout %q, stderr %q; want exit 0 and one stderr line", level, r.code, r.stdout, r.stderr)
		}
	}
}

// Every runBinary of these tests, most of which expect the binary to refuse
// or only print, enters a namespace of the test's, not the host's.
func TestRunBinaryNeverInTheHostNamespace(t *testing.T) {
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	cmd := binaryCommand(t, "--version")
	net, ok := strings.CutPrefix(cmd.Args[min(1, len(cmd.Args)-1)], "--net=")
	if cmd.Args[0] != "nsenter" || !ok {
		t.Fatalf("runBinary runs %q: not inside a namespace of the test", cmd.Args)
	}
	if target, err := os.Readlink(net); err != nil || target == host {
		t.Fatalf("runBinary enters %s (%s, %v), the host's is %s", net, target, err, host)
	}
}

// Output that cannot be written fails the run: a script reading
// `proxy-init --simulate` into a file must not get exit 0 and no rules.
func TestCLIUnwritableStdoutFails(t *testing.T) {
	for _, args := range [][]string{{"--simulate"}, {"help"}, {"version"}, {"show", "--simulate", "--format", "dot"}} {
		ro, err := os.Open(os.DevNull) // read-only: every write fails with EBADF
		if err != nil {
			t.Fatal(err)
		}
		cmd := binaryCommand(t, args...)
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = ro, &errb
		err = cmd.Run()
		ro.Close()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != exitSystem || !strings.Contains(errb.String(), "write standard output") {
			t.Errorf("%v with stdout read-only: %v, stderr %q; want exit 1 naming the write", args, err, errb.String())
		}
	}
}

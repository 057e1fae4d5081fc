package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// logRecord is a line of the default (plain) log handler.
var logRecord = regexp.MustCompile(`^time=\S+ level=(DEBUG|INFO|WARN) msg=`)

// TestBadInputIsRefusedWithoutTouchingTheKernel runs the binary with invalid
// input against a namespace that already holds an install and a foreign
// table. Each run must exit 2 (or 1 for a system failure), print exactly one
// error line naming the flag and the offending value (log records before it
// are allowed only for system failures, which happen after the configuration
// is logged), and leave the ruleset byte-identical. Every run also executes
// inside the target namespace, so even a run that wrongly ignored a bad
// --netns could only change the namespace we check, never the host's.
func TestBadInputIsRefusedWithoutTouchingTheKernel(t *testing.T) {
	bin := binary
	ns := testns.New(t)
	ns.LoadNft(t, "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\ttcp dport 22 counter accept\n\t}\n}\n")
	if r := runCmd(t, exec.Command(bin, "--netns", ns.Path(), "--inbound-ports-to-ignore", "4190,4191")); r.code != 0 {
		t.Fatalf("install: exit %d: %s", r.code, r.stderr)
	}
	snapshot := func(t *testing.T) string { return ns.Ruleset(t) + ns.Run(t, "nft", "-a", "list", "ruleset") }
	before := snapshot(t)
	if !strings.Contains(before, "proxy_init") || !strings.Contains(before, "inet filter") {
		t.Fatalf("setup: ruleset lacks the install or the foreign table:\n%s", before)
	}

	// readOnlySysctl runs the command in a private mount namespace whose
	// /proc/sys is read-only, so the close-wait sysctl cannot be written.
	readOnlySysctl := func(argv []string) []string {
		return append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c",
			`mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"`, "sh"}, argv...)
	}
	netns := []string{"--netns", ns.Path()}

	for _, tc := range []struct {
		name        string
		args        []string
		flag, value string // both must appear in the error line
		code        int
		wrap        func([]string) []string
	}{
		// Ports of the proxy.
		{name: "incoming port 0", args: []string{"-p", "0"}, flag: "--incoming-proxy-port", value: `"0"`, code: 2},
		{name: "incoming port 65536", args: []string{"--incoming-proxy-port", "65536"}, flag: "--incoming-proxy-port", value: `"65536"`, code: 2},
		{name: "incoming port -1", args: []string{"--incoming-proxy-port=-1"}, flag: "--incoming-proxy-port", value: `"-1"`, code: 2},
		{name: "incoming port abc", args: []string{"-p", "abc"}, flag: "--incoming-proxy-port", value: `"abc"`, code: 2},
		{name: "incoming port empty", args: []string{"--incoming-proxy-port="}, flag: "--incoming-proxy-port", value: `""`, code: 2},
		{name: "outgoing port 0", args: []string{"-o", "0"}, flag: "--outgoing-proxy-port", value: `"0"`, code: 2},
		{name: "outgoing port 65536", args: []string{"--outgoing-proxy-port", "65536"}, flag: "--outgoing-proxy-port", value: `"65536"`, code: 2},
		// Port lists.
		{name: "redirect port 65536", args: []string{"-r", "80,65536"}, flag: "--ports-to-redirect", value: `"65536"`, code: 2},
		{name: "redirect port -1", args: []string{"--ports-to-redirect=-1"}, flag: "--ports-to-redirect", value: `"-1"`, code: 2},
		{name: "redirect port abc", args: []string{"--ports-to-redirect", "abc"}, flag: "--ports-to-redirect", value: `"abc"`, code: 2},
		// A -r that lists no port would flip to redirecting every port
		// (upstream's int list refuses all of these).
		{name: "redirect list empty", args: []string{"--ports-to-redirect="}, flag: "--ports-to-redirect", value: `""`, code: 2},
		{name: "redirect list only commas", args: []string{"-r", ","}, flag: "--ports-to-redirect", value: `","`, code: 2},
		{name: "redirect list only blanks", args: []string{"-r", " , "}, flag: "--ports-to-redirect", value: `" , "`, code: 2},
		{name: "inbound ignore reversed range", args: []string{"--inbound-ports-to-ignore", "90-80"}, flag: "--inbound-ports-to-ignore", value: `"90-80"`, code: 2},
		{name: "inbound ignore open range", args: []string{"--inbound-ports-to-ignore", "1-"}, flag: "--inbound-ports-to-ignore", value: `"1-"`, code: 2},
		{name: "outbound ignore three-part range", args: []string{"--outbound-ports-to-ignore", "1-2-3"}, flag: "--outbound-ports-to-ignore", value: `"1-2-3"`, code: 2},
		{name: "outbound ignore colon range", args: []string{"--outbound-ports-to-ignore", "80:90"}, flag: "--outbound-ports-to-ignore", value: `"80:90"`, code: 2},
		// Subnets.
		{name: "subnet prefix too long", args: []string{"--subnets-to-ignore", "10.0.0.0/33"}, flag: "--subnets-to-ignore", value: `"10.0.0.0/33"`, code: 2},
		{name: "subnet bad octet", args: []string{"--subnets-to-ignore", "300.1.1.1"}, flag: "--subnets-to-ignore", value: `"300.1.1.1"`, code: 2},
		{name: "subnet not an address", args: []string{"--subnets-to-ignore", "foo"}, flag: "--subnets-to-ignore", value: `"foo"`, code: 2},
		{name: "IPv6 subnet with IPv6 off", args: []string{"--ipv6=false", "--subnets-to-ignore", "fd00::/8"}, flag: "--subnets-to-ignore", value: `"fd00::/8"`, code: 2},
		{name: "IPv6 outbound subnet with IPv6 off", args: []string{"--outbound-subnets-to-ignore", "10.0.0.0/8,2001:db8::/32", "--ipv6=false"}, flag: "--outbound-subnets-to-ignore", value: `"2001:db8::/32"`, code: 2},
		{name: "IPv4-mapped IPv6 subnet", args: []string{"--outbound-subnets-to-ignore", "::ffff:10.0.0.0/104"}, flag: "--outbound-subnets-to-ignore", value: `"::ffff:10.0.0.0/104"`, code: 2},
		{name: "subnet with zone", args: []string{"--outbound-subnets-to-ignore", "fe80::1%eth0"}, flag: "--outbound-subnets-to-ignore", value: `"fe80::1%eth0"`, code: 2},
		// Ids.
		{name: "uid above the largest", args: []string{"--proxy-uid", "4294967295"}, flag: "--proxy-uid", value: `"4294967295"`, code: 2},
		{name: "uid not a number", args: []string{"-u", "nobody"}, flag: "--proxy-uid", value: `"nobody"`, code: 2},
		{name: "gid above 64 bits", args: []string{"--proxy-gid", "99999999999999999999"}, flag: "--proxy-gid", value: `"99999999999999999999"`, code: 2},
		{name: "gid above the largest", args: []string{"-g", "4294967296"}, flag: "--proxy-gid", value: `"4294967296"`, code: 2},
		// Other flags and arguments.
		{name: "unknown flag", args: []string{"--bogus-flag", "1"}, flag: "--bogus-flag", value: "unknown flag", code: 2},
		{name: "unknown shorthand", args: []string{"-z"}, flag: "-z", value: "unknown shorthand flag", code: 2},
		{name: "unexpected argument", args: []string{"apply", "now"}, flag: "argument", value: `"now"`, code: 2},
		{name: "flag without its value", args: []string{"--ports-to-redirect"}, flag: "ports-to-redirect", value: "needs an argument", code: 2},
		{name: "bool flag value after a space", args: []string{"--ipv6", "false"}, flag: "--ipv6=false", value: `"false"`, code: 2},
		{name: "bool flag with a word", args: []string{"--ipv6=maybe"}, flag: "--ipv6", value: `"maybe"`, code: 2},
		{name: "negative close-wait timeout", args: []string{"--timeout-close-wait-secs=-1"}, flag: "--timeout-close-wait-secs", value: `"-1"`, code: 2},
		{name: "unknown log level", args: []string{"--log-level", "loud"}, flag: "--log-level", value: `"loud"`, code: 2},
		// --simulate where it would not be a dry run: remove would remove.
		{name: "remove with simulate", args: []string{"remove", "--simulate"}, flag: "--simulate", value: `"remove"`, code: 2},
		{name: "verify with simulate", args: []string{"verify", "--simulate"}, flag: "--simulate", value: `"verify"`, code: 2},
		{name: "show with simulate", args: []string{"show", "--simulate"}, flag: "--simulate", value: `"show"`, code: 2},
		// The namespace and the system.
		{name: "netns does not exist", args: []string{"--netns", "/nonexistent/netns"}, flag: "--netns", value: `"/nonexistent/netns"`, code: 2},
		{name: "netns is a directory", args: []string{"--netns", "/tmp"}, flag: "--netns", value: `"/tmp"`, code: 2},
		{name: "netns is a regular file", args: []string{"--netns", "/etc/hostname"}, flag: "--netns", value: `"/etc/hostname"`, code: 2},
		{name: "netns is another kind of namespace", args: []string{"--netns", "/proc/self/ns/mnt"}, flag: "--netns", value: `"/proc/self/ns/mnt"`, code: 2},
		{name: "unwritable sysctl", args: append(netns, "--timeout-close-wait-secs", "30"), flag: "--timeout-close-wait-secs", value: "30", code: 1, wrap: readOnlySysctl},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !strings.HasPrefix(tc.flag, "--netns") && tc.wrap == nil {
				args = afterCommand(args, netns...)
			}
			argv := append([]string{bin}, args...)
			if tc.wrap != nil {
				argv = tc.wrap(argv)
			}
			r := runCmd(t, ns.Command(argv[0], argv[1:]...))
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			var errLines []string
			for _, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
				switch {
				case strings.HasPrefix(line, "proxy-init: "):
					errLines = append(errLines, line)
				case tc.code == 1 && logRecord.MatchString(line):
				default:
					t.Errorf("unexpected stderr line %q", line)
				}
			}
			if len(errLines) != 1 {
				t.Fatalf("want exactly one error line, got %d:\n%s", len(errLines), r.stderr)
			}
			if !strings.Contains(errLines[0], tc.flag) || !strings.Contains(errLines[0], tc.value) {
				t.Errorf("error line %q does not name %s and %s", errLines[0], tc.flag, tc.value)
			}
			if r.stdout != "" {
				t.Errorf("unexpected stdout:\n%s", r.stdout)
			}
			if after := snapshot(t); after != before {
				t.Fatalf("the ruleset changed:\n--- before ---\n%s\n--- after ---\n%s", before, after)
			}
		})
	}
}

// TestBadInputDuplicatesAndOverlapsAreMerged: duplicate, overlapping and
// adjacent ports and subnets, also across repeated flags, are accepted and
// merged; the result is exactly what the minimal list installs.
func TestBadInputDuplicatesAndOverlapsAreMerged(t *testing.T) {
	bin := binary
	for _, tc := range []struct {
		name           string
		messy, minimal []string
	}{
		{"duplicate ports", []string{"-r", "80,80,443,443"}, []string{"-r", "80,443"}},
		{"overlapping ranges", []string{"--inbound-ports-to-ignore", "8080-8090,8085-8100,79-81,80"}, []string{"--inbound-ports-to-ignore", "79-81,8080-8100"}},
		{"adjacent ranges", []string{"--outbound-ports-to-ignore", "1-10,11-20,21"}, []string{"--outbound-ports-to-ignore", "1-21"}},
		{"repeated flag", []string{"-r", "80", "-r", "80,81", "-r", "82"}, []string{"-r", "80-82"}},
		{"overlapping subnets", []string{"--subnets-to-ignore", "10.0.0.0/8,10.1.0.0/16,10.0.0.0/8,fd00::/8,fd00:1::/32"}, []string{"--subnets-to-ignore", "10.0.0.0/8,fd00::/8"}},
		{"adjacent subnets", []string{"--outbound-subnets-to-ignore", "10.0.0.0/25,10.0.0.128/25"}, []string{"--outbound-subnets-to-ignore", "10.0.0.0/24"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			messy, minimal := testns.New(t), testns.New(t)
			for _, c := range []struct {
				ns   *testns.NS
				args []string
			}{{messy, tc.messy}, {minimal, tc.minimal}} {
				if r := runCmd(t, exec.Command(bin, append([]string{"--netns", c.ns.Path()}, c.args...)...)); r.code != 0 {
					t.Fatalf("%v: exit %d: %s", c.args, r.code, r.stderr)
				}
			}
			if a, b := messy.Ruleset(t), minimal.Ruleset(t); a != b {
				t.Fatalf("%v installs\n%s\nbut %v installs\n%s", tc.messy, a, tc.minimal, b)
			}
			if r := runCmd(t, exec.Command(bin, append([]string{"verify", "--netns", messy.Path()}, tc.minimal...)...)); r.code != 0 {
				t.Fatalf("verify with the minimal list: exit %d: %s%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// TestParityAcceptsWhatUpstreamAccepts: inputs that upstream proxy-init
// accepts and that work are accepted here too (see docs/upstream.md,
// for the ones still refused, and why). Each
// installs exactly what its plain spelling installs, verify with the plain
// spelling exits 0, and the warning it earns is logged once (and no other).
func TestParityAcceptsWhatUpstreamAccepts(t *testing.T) {
	bin := binary
	for _, tc := range []struct {
		name           string
		given, minimal []string
		warning        string // a substring of the one warning line, if any
	}{
		{"incoming port equals outgoing port", []string{"-p", "8080", "-o", "8080"}, nil, "warning=same-proxy-port"},
		{"outgoing port equals the default incoming port", []string{"-o", "4143"}, nil, "warning=same-proxy-port"},
		{"empty items in a port list", []string{"--inbound-ports-to-ignore", ",4190,,4191,"}, []string{"--inbound-ports-to-ignore", "4190,4191"}, ""},
		{"trailing comma in -r", []string{"-r", "80,"}, []string{"-r", "80"}, ""},
		{"empty item in a subnet list", []string{"--subnets-to-ignore", "10.0.0.0/8,,192.168.0.0/16"}, []string{"--subnets-to-ignore", "10.0.0.0/8,192.168.0.0/16"}, ""},
		{"subnet with host bits is masked", []string{"--subnets-to-ignore", "10.1.2.3/16,fd00::1/8"}, []string{"--subnets-to-ignore", "10.1.0.0/16,fd00::/8"}, "warning=subnet-host-bits"},
		{"port range from 0", []string{"--inbound-ports-to-ignore", "0-1023"}, nil, ""},
		{"a port with a plus sign", []string{"--inbound-ports-to-ignore", "+4190,+4191"}, []string{"--inbound-ports-to-ignore", "4190,4191"}, ""},
		{"port 0 listed", []string{"-r", "0,8080", "--outbound-ports-to-ignore", "0"}, nil, ""},
		{"uid and gid below -1 mean none", []string{"--proxy-uid=-5", "--proxy-gid=-7"}, []string{"--proxy-uid=0", "--proxy-gid=0"}, ""},
		{"upstream's log level names", []string{"--log-level", "warning"}, nil, ""},
		{"log level trace", []string{"--log-level", "trace"}, nil, ""},
		{"unknown log format logs plain text", []string{"--log-format", "text"}, nil, `unknown --log-format \"text\"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			given, minimal := testns.New(t), testns.New(t)
			if tc.minimal == nil {
				tc.minimal = tc.given
			}
			r := runCmd(t, exec.Command(bin, append([]string{"--netns", given.Path()}, tc.given...)...))
			if r.code != 0 {
				t.Fatalf("%v: exit %d: %s", tc.given, r.code, r.stderr)
			}
			var warnings []string
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.Contains(l, "level=WARN") {
					warnings = append(warnings, l)
				}
			}
			switch {
			case tc.warning == "" && len(warnings) > 0:
				t.Errorf("unexpected warnings:\n%s", strings.Join(warnings, "\n"))
			case tc.warning != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.warning)):
				t.Errorf("want one warning line with %s, got:\n%s", tc.warning, r.stderr)
			}
			if r := runCmd(t, exec.Command(bin, append([]string{"--netns", minimal.Path()}, tc.minimal...)...)); r.code != 0 {
				t.Fatalf("%v: exit %d: %s", tc.minimal, r.code, r.stderr)
			}
			if a, b := given.Ruleset(t), minimal.Ruleset(t); a != b || a == "" {
				t.Fatalf("%v installs\n%s\nbut %v installs\n%s", tc.given, a, tc.minimal, b)
			}
			if r := runCmd(t, exec.Command(bin, append([]string{"verify", "--netns", given.Path()}, tc.minimal...)...)); r.code != 0 {
				t.Fatalf("verify with %v: exit %d: %s%s", tc.minimal, r.code, r.stdout, r.stderr)
			}
		})
	}
}

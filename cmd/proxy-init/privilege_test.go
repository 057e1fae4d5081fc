package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// asNobody returns setpriv arguments that run a command as uid and gid
// 65534 with no supplementary groups, holding exactly caps (e.g.
// "net_admin") as inheritable, ambient, permitted and effective
// capabilities, and nothing else even in the bounding set.
func asNobody(caps ...string) []string {
	set := "-all"
	for _, c := range caps {
		set += ",+" + c
	}
	return []string{"--reuid", "65534", "--regid", "65534", "--clear-groups",
		"--inh-caps", set, "--ambient-caps", set, "--bounding-set", set}
}

// TestPrivilegeNonRootWithOnlyNetAdmin runs the binary as nobody, inside the
// namespace as an init container runs, with CAP_NET_ADMIN as its only
// capability: every command works. Without it, each fails with exit 1 and a
// message naming CAP_NET_ADMIN. Entering another namespace with --netns
// needs CAP_SYS_ADMIN as well, and the error says so.
func TestPrivilegeNonRootWithOnlyNetAdmin(t *testing.T) {
	bin := binary
	flags := []string{"--inbound-ports-to-ignore", "4190,4191", "--subnets-to-ignore", "10.0.0.0/8,fd00::/8"}
	asRoot := func(args ...string) string {
		ref := testns.New(t)
		if r := runCmd(t, exec.Command(bin, append([]string{"--netns", ref.Path()}, args...)...)); r.code != 0 {
			t.Fatalf("reference install as root: exit %d: %s", r.code, r.stderr)
		}
		return ref.Ruleset(t)
	}
	want, want80 := asRoot(flags...), asRoot("-r", "80")

	// The credentials really are those: uid 65534, CAP_NET_ADMIN (bit 12) only.
	status := runCmd(t, exec.Command("setpriv", append(asNobody("net_admin"), "cat", "/proc/self/status")...))
	for _, re := range []string{`(?m)^Uid:\s+65534\s+65534\s+65534\s+65534$`, `(?m)^Groups:\s*$`,
		`(?m)^CapEff:\s+0000000000001000$`, `(?m)^CapPrm:\s+0000000000001000$`,
		`(?m)^CapAmb:\s+0000000000001000$`, `(?m)^CapBnd:\s+0000000000001000$`} {
		if !regexp.MustCompile(re).MatchString(status.stdout) {
			t.Fatalf("setpriv does not give the intended credentials (%s):\n%s%s", re, status.stdout, status.stderr)
		}
	}

	t.Run("CAP_NET_ADMIN only, inside the namespace", func(t *testing.T) {
		ns := testns.New(t)
		run := func(args ...string) result {
			argv := append(append(asNobody("net_admin"), bin), args...)
			return runCmd(t, ns.Command("setpriv", argv...))
		}
		for _, step := range []struct {
			args []string
			want string
		}{
			{flags, want},                  // fresh install
			{flags, want},                  // unchanged
			{[]string{"-r", "80"}, want80}, // replaced
			{flags, want},                  // replaced back
			{append([]string{"verify"}, flags...), want},
			{[]string{"show"}, want},
			{[]string{"remove"}, "(empty)"},
		} {
			r := run(step.args...)
			if r.code != 0 {
				t.Fatalf("%v as nobody with CAP_NET_ADMIN: exit %d: %s", step.args, r.code, r.stderr)
			}
			got := ns.Ruleset(t)
			switch step.want {
			case "(empty)":
				if got != "" {
					t.Fatalf("%v left:\n%s", step.args, got)
				}
			default:
				if got != step.want {
					t.Fatalf("%v as nobody installs\n%s\nbut as root\n%s", step.args, got, step.want)
				}
			}
		}
	})

	t.Run("no capability", func(t *testing.T) {
		ns := testns.New(t)
		if r := runCmd(t, exec.Command(bin, "--netns", ns.Path())); r.code != 0 {
			t.Fatalf("install as root: %s", r.stderr)
		}
		before := ns.Ruleset(t)
		for _, args := range [][]string{flags, {"-r", "80"}, {"verify"}, {"show"}, {"remove"}} {
			argv := append(append(asNobody(), bin), afterCommand(args, "--log-level=error")...)
			r := runCmd(t, ns.Command("setpriv", argv...))
			if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "CAP_NET_ADMIN") {
				t.Errorf("%v without capabilities: exit %d (want 1), stderr (want one line naming CAP_NET_ADMIN):\n%s", args, r.code, r.stderr)
			}
		}
		if after := ns.Ruleset(t); after != before {
			t.Fatalf("the ruleset changed:\n%s\n---\n%s", before, after)
		}
	})

	t.Run("--netns needs CAP_SYS_ADMIN", func(t *testing.T) {
		// The target is passed as descriptor 3 (nobody may not open this
		// test's /proc/PID/fd). The process starts in a decoy namespace, so
		// that a run that ignored --netns would show there.
		target, decoy := testns.New(t), testns.New(t)
		run := func(caps []string, args ...string) result {
			argv := append(append(asNobody(caps...), bin), afterCommand(args, "--log-level=error", "--netns", "/proc/self/fd/3")...)
			cmd := decoy.Command("setpriv", argv...)
			cmd.ExtraFiles = []*os.File{target.File()}
			return runCmd(t, cmd)
		}
		r := run([]string{"net_admin"}, flags...)
		if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "CAP_SYS_ADMIN") {
			t.Errorf("--netns with CAP_NET_ADMIN only: exit %d (want 1), stderr (want one line naming CAP_SYS_ADMIN):\n%s", r.code, r.stderr)
		}
		if got := target.Ruleset(t) + decoy.Ruleset(t); got != "" {
			t.Fatalf("a refused run changed a namespace:\n%s", got)
		}
		// With both capabilities, nobody can do it.
		for _, args := range [][]string{flags, append([]string{"verify"}, flags...), {"remove"}} {
			if r := run([]string{"net_admin", "sys_admin"}, args...); r.code != 0 {
				t.Fatalf("%v with --netns, CAP_NET_ADMIN and CAP_SYS_ADMIN: exit %d: %s", args, r.code, r.stderr)
			}
			if args[0] != "remove" && target.Ruleset(t) != want {
				t.Fatalf("%v did not leave the configuration:\n%s", args, target.Ruleset(t))
			}
		}
		if got := target.Ruleset(t) + decoy.Ruleset(t); got != "" {
			t.Fatalf("after remove:\n%s", got)
		}
	})
}

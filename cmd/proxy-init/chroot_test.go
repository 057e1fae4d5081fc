package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// chrootWith copies the binary alone into an empty directory, as a
// distroless or scratch image holds it: no /proc, /sys, /dev, /etc, /run,
// no shell, no nft, iptables or libraries.
func chrootWith(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proxy-init"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestChrootRunsWithNothingElse runs every command of the binary in a chroot
// that holds only the binary, into a namespace it is started in (as an init
// container is) and into one passed by path with --netns. The sequence
// covers both ways Apply writes (a fresh install, a replacement after reading
// the live tables), verify, show and remove.
func TestChrootRunsWithNothingElse(t *testing.T) {
	bin := relBinary(t)
	first := []string{"--inbound-ports-to-ignore", "4190,4191"}
	second := []string{"--ports-to-redirect", "80,8080-8090", "--subnets-to-ignore", "10.0.0.0/8,fd00::/8"}
	// What each configuration leaves, installed the ordinary way.
	want := map[string]string{}
	for name, flags := range map[string][]string{"first": first, "second": second} {
		ref := testns.New(t)
		if r := relRun(t, exec.Command(bin, append([]string{"--netns", ref.Path()}, flags...)...)); r.code != 0 {
			t.Fatalf("reference install: exit %d: %s", r.code, r.stderr)
		}
		want[name] = ref.Ruleset(t)
	}

	steps := []struct {
		cmd   string
		flags []string
		want  string // the ruleset after the step: "first", "second" or "" (empty)
	}{
		{"apply", first, "first"},
		{"apply", first, "first"},   // unchanged: reads the live tables
		{"apply", second, "second"}, // replaced
		{"verify", second, "second"},
		{"show", nil, "second"},
		{"remove", nil, ""},
	}
	check := func(t *testing.T, ns *testns.NS, i int, r relResult) {
		t.Helper()
		s := steps[i]
		if r.code != 0 {
			t.Fatalf("step %d (%s %v): exit %d: %s", i, s.cmd, s.flags, r.code, r.stderr)
		}
		if s.cmd == "show" && !strings.Contains(r.stdout, "table ip6 proxy_init") {
			t.Fatalf("show printed:\n%s", r.stdout)
		}
		got := ns.Ruleset(t)
		if (s.want == "" && got != "") || (s.want != "" && got != want[s.want]) {
			t.Fatalf("step %d (%s %v): ruleset\n%s\nwant the %q configuration", i, s.cmd, s.flags, got, s.want)
		}
	}

	t.Run("started inside the namespace", func(t *testing.T) {
		dir := chrootWith(t, bin)
		ns := testns.New(t)
		for i, s := range steps {
			args := append([]string{dir, "/proxy-init", s.cmd}, s.flags...)
			check(t, ns, i, relRun(t, ns.Command("chroot", args...)))
		}
	})

	t.Run("namespace passed by path", func(t *testing.T) {
		// The namespace file is bind-mounted into the chroot from a private
		// mount namespace, so nothing shows outside. The process starts in a
		// decoy namespace that must stay empty.
		dir := chrootWith(t, bin)
		if err := os.WriteFile(filepath.Join(dir, "netns"), nil, 0o444); err != nil {
			t.Fatal(err)
		}
		ns, decoy := testns.New(t), testns.New(t)
		for i, s := range steps {
			args := append([]string{"-m", "--propagation", "private", "sh", "-c",
				`mount --bind "$1" "$2/netns" && dir=$2 && shift 2 && exec chroot "$dir" /proxy-init "$@"`,
				"sh", ns.Path(), dir, s.cmd, "--netns", "/netns"}, s.flags...)
			check(t, ns, i, relRun(t, decoy.Command("unshare", args...)))
			if got := decoy.Ruleset(t); got != "" {
				t.Fatalf("step %d changed the namespace the process started in:\n%s", i, got)
			}
		}
	})
}

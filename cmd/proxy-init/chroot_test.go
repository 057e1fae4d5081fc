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

// Shell run in a private mount namespace before the chroot: the directory
// $dir becomes a mount of its own, then read-only, as the root filesystem of
// a pod with readOnlyRootFilesystem. bindRoot must come before any mount
// inside $dir (a bind mount does not carry submounts), readOnly after.
const (
	bindRoot = `mount --bind "$dir" "$dir" && `
	readOnly = `mount -o remount,bind,ro "$dir" && `
)

// requireOnly checks that the directory holds exactly the named files: the
// binary wrote nothing next to itself.
func requireOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("%s holds %v, want only %v", dir, got, names)
	}
}

// TestChrootRunsWithNothingElse runs every command of the binary in a chroot
// that holds only the binary, into a namespace it is started in (as an init
// container is) and into one passed by path with --netns. The sequence
// covers both ways Apply writes (a fresh install, a replacement after reading
// the live tables), verify, show and remove. The chroot is mounted read-only,
// as a pod's root filesystem with readOnlyRootFilesystem, and holds nothing
// new afterwards.
func TestChrootRunsWithNothingElse(t *testing.T) {
	bin := binary
	first := []string{"--inbound-ports-to-ignore", "4190,4191"}
	second := []string{"--ports-to-redirect", "80,8080-8090", "--subnets-to-ignore", "10.0.0.0/8,fd00::/8"}
	// What each configuration leaves, installed the ordinary way.
	want := map[string]string{}
	for name, flags := range map[string][]string{"first": first, "second": second} {
		ref := testns.New(t)
		if r := runCmd(t, exec.Command(bin, append([]string{"--netns", ref.Path()}, flags...)...)); r.code != 0 {
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
	check := func(t *testing.T, ns *testns.NS, i int, r result) {
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
			args := append([]string{"-m", "--propagation", "private", "sh", "-c",
				`dir=$1 && shift && ` + bindRoot + readOnly + `exec chroot "$dir" /proxy-init "$@"`, "sh", dir, s.cmd}, s.flags...)
			check(t, ns, i, runCmd(t, ns.Command("unshare", args...)))
		}
		requireOnly(t, dir, "proxy-init")
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
				`dir=$1 && ns=$2 && shift 2 && ` + bindRoot + `mount --bind "$ns" "$dir/netns" && ` + readOnly + `exec chroot "$dir" /proxy-init "$@"`,
				"sh", dir, ns.Path(), s.cmd, "--netns", "/netns"}, s.flags...)
			check(t, ns, i, runCmd(t, decoy.Command("unshare", args...)))
			if got := decoy.Ruleset(t); got != "" {
				t.Fatalf("step %d changed the namespace the process started in:\n%s", i, got)
			}
		}
		requireOnly(t, dir, "netns", "proxy-init")
	})
}

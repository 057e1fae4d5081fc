// Package hack's own test checks the scripts of this folder that the make
// targets run; the tools are in its subpackages.
package hack

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDepsNamesWhatAFreshMachineLacks: on a machine without the tools
// (an empty PATH), hack/deps.sh test names the Debian packages make test
// needs, podman among them (a fresh machine used to fail make test at
// once with "podman: not found"); DEPS_DRY_RUN keeps it from installing.
func TestDepsNamesWhatAFreshMachineLacks(t *testing.T) {
	for group, want := range map[string][]string{
		"test":  {"nftables", "iptables", "iproute2", "util-linux", "gcc", "podman", "buildah", "runc", "libcap2-bin", "make"},
		"bench": {"nftables", "iptables", "iproute2", "util-linux", "hyperfine"},
		"e2e":   {"containerd", "runc", "util-linux", "iproute2", "podman"},
	} {
		cmd := exec.Command("/bin/bash", "deps.sh", group)
		cmd.Env = []string{"PATH=" + t.TempDir(), "DEPS_DRY_RUN=1"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("deps.sh %s: %v\n%s", group, err, out)
		}
		got := strings.Fields(string(out))
		for _, pkg := range want {
			if !slices.Contains(got, pkg) {
				t.Errorf("deps.sh %s with an empty PATH would install %q; want %s among them", group, got, pkg)
			}
		}
	}
	if out, err := exec.Command("/bin/bash", "deps.sh", "nosuchgroup").CombinedOutput(); err == nil {
		t.Errorf("an unknown group is accepted: %s", out)
	}
}

// TestMakeTargetsInstallFirst: make test and make bench run hack/deps.sh
// before anything else, so a newcomer's first make test installs what it
// needs instead of failing; .ci/run is make test and not a second list.
func TestMakeTargetsInstallFirst(t *testing.T) {
	for target, group := range map[string]string{"test": "test", "bench": "bench"} {
		out, err := exec.Command("make", "--no-print-directory", "-C", "..", "-n", target).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		if !strings.Contains(first, "hack/deps.sh "+group) {
			t.Errorf("make %s starts with %q; want hack/deps.sh %s", target, first, group)
		}
	}
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ci), "apt-get") || !strings.Contains(string(ci), "make test") {
		t.Errorf(".ci/run keeps its own install list or does not run make test:\n%s", ci)
	}
}

// TestMakeTestLints: make test runs go vet and staticcheck over both
// modules, staticcheck by go run at a fixed version, so that it stays out
// of the product's go.mod.
func TestMakeTestLints(t *testing.T) {
	out, err := exec.Command("make", "--no-print-directory", "-C", "..", "-n", "test").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n test: %v\n%s", err, out)
	}
	for _, want := range []string{"go vet ./...", "go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...", "cd hack && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("make test does not run %q:\n%s", want, out)
		}
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(gomod), "honnef.co") {
		t.Error("staticcheck is in the product's go.mod")
	}
}

package main

// Helpers shared by the issue 5 tests of the binary (badinput, privilege,
// chroot). Names start with "rel" so that they do not collide with other
// test files of this package.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// relBinary builds proxy-init statically, as `make build` does, into a
// directory of the test that other users may enter (setpriv tests run it as
// nobody), and returns its path.
func relBinary(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "proxy-init")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build proxy-init: %v\n%s", err, out)
	}
	return bin
}

// relResult is what one run of a command did.
type relResult struct {
	code           int
	stdout, stderr string
}

func relRun(t testing.TB, cmd *exec.Cmd) relResult {
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
	return relResult{code, out.String(), errb.String()}
}

// afterCommand inserts flags into args after the command word, if any: the
// command must come first.
func afterCommand(args []string, flags ...string) []string {
	i := 0
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		i = 1
	}
	return append(append(append([]string{}, args[:i]...), flags...), args[i:]...)
}

package oneproc

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// The test binary imports the package, so its own GOMAXPROCS says what the
// init did: 1 unless the environment set it.
func TestOneProcessor(t *testing.T) {
	if os.Getenv("ONEPROC_CHILD") != "" {
		// Run again by TestEnvironmentWins with GOMAXPROCS=2.
		os.Stdout.WriteString(strings.Repeat("p", runtime.GOMAXPROCS(0)))
		return
	}
	want := 1
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		t.Skip("GOMAXPROCS is set in the environment: the package leaves it alone")
	}
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("GOMAXPROCS after init = %d, want %d", got, want)
	}
}

// An operator's GOMAXPROCS wins over the package's default.
func TestEnvironmentWins(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestOneProcessor$")
	cmd.Env = append(os.Environ(), "ONEPROC_CHILD=1", "GOMAXPROCS=2")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run the test binary again with GOMAXPROCS=2: %v", err)
	}
	if !strings.HasPrefix(string(out), "pp") || strings.HasPrefix(string(out), "ppp") {
		t.Fatalf("with GOMAXPROCS=2 in the environment the child ran with %q processors (one p each), want 2", out)
	}
}

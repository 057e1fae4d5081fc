package cluster

import (
	"os"
	"testing"
)

// requireRoot skips a test that needs root when not root, except under
// CI=true, where a skipped cluster test would hide a failure: it fails.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "" {
			t.Skip("needs root")
		}
		t.Fatal("needs root under CI")
	}
}

//go:build linux

package kernel_test

import (
	"flag"
	"os"
	"testing"
)

// TestMain leaves the runnable examples, which need root, out of a run by
// an ordinary user that does not choose its tests (-run): the tests skip
// themselves then, but an example cannot. As root, and always under
// CI=true, they run.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" && flag.Lookup("test.run").Value.String() == "" {
		_ = flag.Set("test.run", "^(Test|Fuzz)")
	}
	os.Exit(m.Run())
}

//go:build linux

package nattest_test

import (
	"flag"
	"fmt"
	"net"
	"os"
	"testing"

	"github.com/proxy-init/netlink-native/nat/nattest"
)

// TestMain leaves the runnable example, which needs root, out of a run by
// an ordinary user that does not choose its tests (-run), as nat/kernel's
// does: the tests skip themselves then, but an example cannot. As root,
// and always under CI=true, it runs.
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" && flag.Lookup("test.run").Value.String() == "" {
		_ = flag.Set("test.run", "^(Test|Fuzz)")
	}
	os.Exit(m.Run())
}

// A throwaway namespace for the length of a function: sockets opened in Do
// belong to it (its loopback is up, and nothing in it is the host's), and it
// is gone afterwards, whatever the function returned. In a test, New(t)
// does the same and closes it at the test's cleanup. Needs root.
func ExampleRun() {
	err := nattest.Run(func(ns *nattest.Namespace) error {
		return ns.Do(func() error {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer ln.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return err
			}
			fmt.Println("connected inside the namespace")
			return c.Close()
		})
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output: connected inside the namespace
}

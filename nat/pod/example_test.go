package pod_test

import (
	"context"
	"fmt"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// A front end builds a Request and prints the Report. With Engine unset,
// Run opens the kernel in NetNS (or NetNSFile, or the own namespace); here
// the Fake stands in, as in a front end's own tests.
func ExampleRun() {
	fake := &nat.Fake{NoIPv6: true} // as a kernel booted with ipv6.disable=1
	rep, err := pod.Run(context.Background(), pod.Request{
		Op:     pod.Apply,
		Config: nat.DefaultConfig(),
		Engine: fake,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Outcome, len(rep.Plan.Tables), "table")
	for _, w := range rep.Warnings {
		fmt.Println("warning:", w.Code)
	}
	// Output:
	// installed 1 table
	// warning: ipv6-disabled
}

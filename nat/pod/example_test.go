package pod_test

import (
	"context"
	"fmt"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// A front end applies a configuration to a target and prints the result.
// pod.AtPath("/run/netns/NAME") (or AtFile, or the zero Target: the own
// namespace) acts on the kernel; here the Fake stands in, as in a front
// end's own tests.
func ExampleApply() {
	fake := &nat.Fake{NoIPv6: true} // as a kernel booted with ipv6.disable=1
	res, err := pod.Apply(context.Background(), pod.OnEngine(fake), nat.DefaultConfig(), pod.ApplyOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Outcome, len(res.Plan.Tables), "table")
	for _, w := range res.Warnings {
		fmt.Println("warning:", w.Code)
	}
	// Output:
	// installed 1 table
	// warning: ipv6-disabled
}

// Verify compares what a target holds with a configuration; Changes is
// empty when they are equal.
func ExampleVerify() {
	ctx := context.Background()
	t := pod.OnEngine(nat.NewFake())
	cfg := nat.DefaultConfig()
	for range 2 {
		res, err := pod.Verify(ctx, t, cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("equal:", res.Changes.Empty(), "missing rules:", len(res.Changes.Missing))
		if _, err := pod.Apply(ctx, t, cfg, pod.ApplyOptions{}); err != nil {
			fmt.Println(err)
			return
		}
	}
	// Output:
	// equal: false missing rules: 12
	// equal: true missing rules: 0
}

// Simulate is Apply's dry run: it needs no target, no kernel and no
// privileges.
func ExampleSimulate() {
	cfg := nat.DefaultConfig()
	cfg.OutboundProxyPort = cfg.InboundProxyPort
	res, err := pod.Simulate(cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Plan.RuleCount(), "rules")
	for _, w := range res.Warnings {
		fmt.Println("warning:", w.Code)
	}
	// Output:
	// 12 rules
	// warning: same-proxy-port
}

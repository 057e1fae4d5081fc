//go:build linux

package kernel_test

import (
	"context"
	"fmt"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// Apply a plan into a throwaway network namespace, check it, and remove it.
// Needs root (make test runs it; see TestMain for other users).
func Example() {
	ctx := context.Background()
	plan, err := nat.Plan(nat.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	err = nattest.Run(func(ns *nattest.Namespace) error {
		c, err := kernel.Open(ctx, kernel.AtFD(ns.FD()), kernel.Options{})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.Check(ctx, plan); err != nil { // validated, then aborted
			return err
		}
		for range 2 {
			outcome, err := c.Apply(ctx, plan)
			if err != nil {
				return err
			}
			fmt.Println(outcome)
		}
		diff, err := c.Verify(ctx, plan)
		if err != nil {
			return err
		}
		fmt.Println("equal:", diff.Empty())
		removed, err := c.Remove(ctx)
		fmt.Println("removed:", removed)
		return err
	})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// installed
	// unchanged
	// equal: true
	// removed: true
}

// A kernel error says which step failed and why, as data.
func ExampleOpen_notANamespace() {
	_, err := kernel.Open(context.Background(), kernel.AtPath("/"), kernel.Options{})
	fmt.Println(nat.OpOf(err), nat.IsPermission(err))
	// Output: open namespace false
}

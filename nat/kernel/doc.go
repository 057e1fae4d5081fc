// Package kernel is nat's engine for the running Linux kernel: it programs
// the tables a nat.Ruleset describes into nf_tables over netlink, in one
// transaction, reads them back and removes them, in the network namespace a
// Target names.
//
//	c, err := kernel.Open(ctx, kernel.AtPath("/run/netns/pod"), kernel.Options{})
//	if err != nil { ... }
//	defer c.Close()
//	outcome, err := c.Apply(ctx, plan) // nat.Installed, nat.Replaced or nat.Unchanged
//
// *Client implements nat.Engine and nat.Host; code written against those
// interfaces can be tested with nat.Fake instead, without root. Every call
// takes a context whose deadline bounds each wait for the kernel. Errors
// are *nat.KernelError, classified by step (nat.Op) and reason (nat.Kind):
// see nat.IsPermission and nat.IsMissingFeature.
//
// This package owns everything that is specific to the kernel: lowering each
// nat match and verdict to native nf_tables expressions (no xtables-compat),
// the hand-encoded set elements of large batches, and decoding live rules
// back into the model, so that nat itself stays pure and portable. It builds
// on Linux only.
package kernel

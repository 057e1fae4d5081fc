// Package nat is the pure model of proxy-init's transparent-proxy NAT rules:
// the configuration and its validation, the plan (a Ruleset of two tables we
// own, "table ip proxy_init" and "table ip6 proxy_init"), its rendering in nft
// syntax, and the comparison of two rulesets as data. It does no I/O and
// builds on any GOOS. Start with Plan, Ruleset, Engine and Fake.
//
//	cfg := nat.DefaultConfig()
//	cfg.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4191}}
//	plan, err := nat.Plan(cfg) // a bad value is a *nat.ConfigError naming the Field
//	fmt.Print(plan.Render())   // what proxy-init --simulate prints; nft -f loads it
//
// Putting a plan into a kernel is an Engine's job: *kernel.Client (package
// nat/kernel, Linux) does it over netlink in one transaction; *Fake does it in
// memory, for tests of code that uses an Engine without root. Package
// nat/pod is the pod-level sequence every front end shares (IPv6 fallback,
// warnings, sysctl ordering) on top of an Engine, nat/explain says why a
// connection is (not) redirected and draws the chains, and nat/nattest makes
// throwaway network namespaces for integration tests.
//
// Errors from an Engine are *KernelError, classified by the step (Op) and
// the reason (Kind); a refused configuration or Ruleset is a *ConfigError.
// Use IsPermission, IsMissingFeature and IsConfig rather than the message
// text.
package nat

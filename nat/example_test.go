package nat_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/proxy-init/netlink-native/nat"
)

// Plan a configuration and render it, without root and without touching
// any kernel: the text is what proxy-init --simulate prints and what
// "nft list ruleset" shows after the install.
func ExamplePlan() {
	cfg := nat.DefaultConfig()
	cfg.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4191}}
	cfg.IPv6 = false
	plan, err := nat.Plan(cfg) // validates: a bad value is a *nat.ConfigError naming the flag
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(plan.Listing(false))
	// Output:
	// table ip proxy_init {
	// 	set inbound_ports_ignore {
	// 		type inet_service
	// 		flags interval
	// 		elements = { 4190-4191 }
	// 	}
	//
	// 	chain PROXY_INIT_REDIRECT {
	// 		tcp dport @inbound_ports_ignore counter packets 0 bytes 0 return comment "proxy-init/ignore-port"
	// 		meta l4proto tcp counter packets 0 bytes 0 redirect to :4143 comment "proxy-init/redirect-all-incoming-to-proxy-port"
	// 	}
	//
	// 	chain PREROUTING {
	// 		type nat hook prerouting priority dstnat; policy accept;
	// 		counter packets 0 bytes 0 jump PROXY_INIT_REDIRECT comment "proxy-init/install-proxy-init-prerouting"
	// 	}
	//
	// 	chain PROXY_INIT_OUTPUT {
	// 		meta skuid 2102 counter packets 0 bytes 0 return comment "proxy-init/ignore-proxy-user-id"
	// 		oifname "lo" counter packets 0 bytes 0 return comment "proxy-init/ignore-loopback"
	// 		meta l4proto tcp counter packets 0 bytes 0 redirect to :4140 comment "proxy-init/redirect-all-outgoing-to-proxy-port"
	// 	}
	//
	// 	chain OUTPUT {
	// 		type nat hook output priority -100; policy accept;
	// 		counter packets 0 bytes 0 jump PROXY_INIT_OUTPUT comment "proxy-init/install-proxy-init-output"
	// 	}
	// }
}

// A bad value is refused before anything is touched, naming the field; a
// front end names it in its own words (here a flag) before printing.
func ExamplePlan_invalid() {
	cfg := nat.DefaultConfig()
	cfg.InboundPortsToIgnore = []nat.PortRange{{First: 90, Last: 80}}
	_, err := nat.Plan(cfg)
	fmt.Println(nat.IsConfig(err), err)
	var ce *nat.ConfigError
	if errors.As(err, &ce) && ce.Field == nat.FieldInboundPortsToIgnore {
		ce.Name = "--inbound-ports-to-ignore"
	}
	fmt.Println(err)
	// Output:
	// true invalid value "90-80" for InboundPortsToIgnore: not a port or range of ports between 0 and 65535
	// invalid value "90-80" for --inbound-ports-to-ignore: not a port or range of ports between 0 and 65535
}

// Compare a plan with what a namespace holds; the difference is data, and
// its String is the line diff proxy-init verify prints.
func ExampleCompare() {
	want, _ := nat.Plan(nat.DefaultConfig())
	cfg := nat.DefaultConfig()
	cfg.OutboundProxyPort = 5140
	live, _ := nat.Plan(cfg)
	d := nat.Compare(want, live)
	for _, c := range d.Changed {
		fmt.Printf("%s %s %q:\n  want %s\n  got  %s\n", c.Family, c.Chain, c.Want.Name, c.Want.Text(c.Family), c.Got.Text(c.Family))
	}
	// Output:
	// ip PROXY_INIT_OUTPUT "redirect-all-outgoing-to-proxy-port":
	//   want meta l4proto tcp counter packets 0 bytes 0 redirect to :4140 comment "proxy-init/redirect-all-outgoing-to-proxy-port"
	//   got  meta l4proto tcp counter packets 0 bytes 0 redirect to :5140 comment "proxy-init/redirect-all-outgoing-to-proxy-port"
	// ip6 PROXY_INIT_OUTPUT "redirect-all-outgoing-to-proxy-port":
	//   want meta l4proto tcp counter packets 0 bytes 0 redirect to :4140 comment "proxy-init/redirect-all-outgoing-to-proxy-port"
	//   got  meta l4proto tcp counter packets 0 bytes 0 redirect to :5140 comment "proxy-init/redirect-all-outgoing-to-proxy-port"
}

// Code written against nat.Engine runs on the in-memory Fake in tests, on
// any system and without root; in production it gets a *kernel.Client.
func ExampleFake() {
	install := func(ctx context.Context, eng nat.Engine, cfg nat.Config) (nat.Outcome, error) {
		plan, err := nat.Plan(cfg)
		if err != nil {
			return 0, err
		}
		return eng.Apply(ctx, plan)
	}
	ctx := context.Background()
	fake := nat.NewFake()
	first, _ := install(ctx, fake, nat.DefaultConfig())
	again, _ := install(ctx, fake, nat.DefaultConfig())
	live, _ := fake.Live(ctx)
	fmt.Println(first, again, len(live.Tables), "tables", live.RuleCount(), "rules")
	// Output: installed unchanged 2 tables 12 rules
}

package explain_test

import (
	"fmt"
	"net/netip"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/explain"
)

// Why is a connection from 10.244.1.7 to port 8080 of the pod (not)
// redirected? Explain answers from the plan, without a kernel; live rules
// read back from one are explained the same way.
func ExampleExplain() {
	cfg := nat.DefaultConfig()
	cfg.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4191}}
	plan, err := nat.Plan(cfg)
	if err != nil {
		panic(err)
	}
	for _, dst := range []string{"10.244.2.9:8080", "10.244.2.9:4191"} {
		tr, err := explain.Explain(plan, explain.Flow{
			Direction: explain.Inbound,
			Src:       netip.MustParseAddrPort("10.244.1.7:0"),
			Dst:       netip.MustParseAddrPort(dst),
			UID:       nat.NoID, GID: nat.NoID,
		})
		if err != nil {
			panic(err)
		}
		fmt.Println(dst, tr.Verdict, tr.Port, tr.DecidedBy)
		for _, s := range tr.Path {
			fmt.Printf("  %s[%d] %s matched=%v\n", s.Chain, s.Index, s.Comment, s.Matched)
		}
	}
	// Output:
	// 10.244.2.9:8080 redirect 4143 proxy-init/redirect-all-incoming-to-proxy-port
	//   PREROUTING[0] proxy-init/install-proxy-init-prerouting matched=true
	//   PROXY_INIT_REDIRECT[0] proxy-init/ignore-port matched=false
	//   PROXY_INIT_REDIRECT[1] proxy-init/redirect-all-incoming-to-proxy-port matched=true
	// 10.244.2.9:4191 accept 0 proxy-init/ignore-port
	//   PREROUTING[0] proxy-init/install-proxy-init-prerouting matched=true
	//   PROXY_INIT_REDIRECT[0] proxy-init/ignore-port matched=true
}

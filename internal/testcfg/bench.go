package testcfg

import "github.com/proxy-init/netlink-native/nat"

// Bench is one named benchmark configuration.
type Bench struct {
	Name string
	Cfg  nat.Config
}

// BenchConfigs are the configurations of the Go benchmarks (nat and
// nat/kernel); `make bench` (hack/bench.sh) runs
// them and puts the figures in bench/REPORT.md. The names are part of that
// report: keep them in step with internal/bench.
//
//	default       the seed's defaults plus --inbound-ports-to-ignore 4190,4191, dual stack
//	ports65536    every other port ignored (1,3,...,65535): 32768 disjoint intervals,
//	              the worst case for the port set
//	subnets4096   4096 disjoint IPv4 and 4096 disjoint IPv6 subnets ignored
func BenchConfigs() []Bench {
	def := nat.DefaultConfig()
	def.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4190}, {First: 4191, Last: 4191}}

	ports := nat.DefaultConfig()
	ports.InboundPortsToIgnore = EveryOtherPort(1)

	subnets := nat.DefaultConfig()
	subnets.InboundSubnetsToIgnore = DisjointSubnets(4096, "10.0.0.0", "fd00::")
	return []Bench{{Name: "default", Cfg: def}, {Name: "ports65536", Cfg: ports}, {Name: "subnets4096", Cfg: subnets}}
}

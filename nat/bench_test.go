package nat

import (
	"testing"

	"github.com/proxy-init/netlink-native/internal/nfnl"
)

// The configurations of the Go benchmarks; `make bench` (hack/bench.sh) runs
// them and puts the figures in bench/REPORT.md. The names are part of that
// report: keep them in step with hack/bench.
//
//	default       the seed's defaults plus --inbound-ports-to-ignore 4190,4191, dual stack
//	ports65536    every other port ignored (1,3,...,65535): 32768 disjoint intervals,
//	              the worst case for the port set
//	subnets4096   4096 disjoint IPv4 and 4096 disjoint IPv6 subnets ignored
func benchConfigs() []struct {
	name string
	cfg  Config
} {
	def := DefaultConfig()
	def.InboundPortsToIgnore = []PortRange{{4190, 4190}, {4191, 4191}}

	ports := DefaultConfig()
	ports.InboundPortsToIgnore = EveryOtherPort(1)

	subnets := DefaultConfig()
	subnets.InboundSubnetsToIgnore = DisjointSubnets(4096, "10.0.0.0", "fd00::")
	return []struct {
		name string
		cfg  Config
	}{{"default", def}, {"ports65536", ports}, {"subnets4096", subnets}}
}

// BenchmarkPlan is configuration -> ruleset model: validation, merging of the
// lists, intervals.
func BenchmarkPlan(b *testing.B) {
	for _, c := range benchConfigs() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Plan(c.cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAddTables is ruleset model -> netlink messages of the fresh
// install batch (what Apply sends), without any I/O.
func BenchmarkAddTables(b *testing.B) {
	for _, c := range benchConfigs() {
		rs, err := Plan(c.cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			msgs := 0
			for b.Loop() {
				batch := &nfnl.Batch{}
				rs.addTables(batch, true)
				msgs = batch.Len()
			}
			b.ReportMetric(float64(msgs), "msgs")
		})
	}
}

// BenchmarkPlanAndBuild is the whole in-process pipeline of a fresh apply
// before the first system call: plan, then build the batch.
func BenchmarkPlanAndBuild(b *testing.B) {
	for _, c := range benchConfigs() {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, err := Plan(c.cfg)
				if err != nil {
					b.Fatal(err)
				}
				rs.addTables(&nfnl.Batch{}, true)
			}
		})
	}
}

// BenchmarkRender is ruleset model -> nft text (--simulate).
func BenchmarkRender(b *testing.B) {
	for _, c := range benchConfigs() {
		rs, err := Plan(c.cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(rs.Render())
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}

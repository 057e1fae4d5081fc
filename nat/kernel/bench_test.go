//go:build linux

package kernel

import (
	"testing"

	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	. "github.com/proxy-init/netlink-native/nat"
)

// BenchmarkAddTables is ruleset model -> netlink messages of the fresh
// install batch (what Apply sends), without any I/O.
func BenchmarkAddTables(b *testing.B) {
	for _, c := range testcfg.BenchConfigs() {
		rs, err := Plan(c.Cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			msgs := 0
			for b.Loop() {
				batch := &nfnl.Batch{}
				_ = (*Client)(nil).addTables(batch, rs, true)
				msgs = batch.Len()
			}
			b.ReportMetric(float64(msgs), "msgs")
		})
	}
}

// BenchmarkPlanAndBuild is the whole in-process pipeline of a fresh apply
// before the first system call: plan, then build the batch.
func BenchmarkPlanAndBuild(b *testing.B) {
	for _, c := range testcfg.BenchConfigs() {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rs, err := Plan(c.Cfg)
				if err != nil {
					b.Fatal(err)
				}
				_ = (*Client)(nil).addTables(&nfnl.Batch{}, rs, true)
			}
		})
	}
}

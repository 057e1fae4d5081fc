package nat_test

import (
	"testing"

	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/nat"
)

// BenchmarkPlan is configuration -> ruleset model: validation, merging of the
// lists, intervals.
func BenchmarkPlan(b *testing.B) {
	for _, c := range testcfg.BenchConfigs() {
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := nat.Plan(c.Cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRender is ruleset model -> nft text (--simulate).
func BenchmarkRender(b *testing.B) {
	for _, c := range testcfg.BenchConfigs() {
		rs, err := nat.Plan(c.Cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(rs.Render())
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}

// BenchmarkCompare is verify's comparison of a plan with equal live tables
// (a second plan of the same configuration): both listings are rendered.
func BenchmarkCompare(b *testing.B) {
	for _, c := range testcfg.BenchConfigs() {
		want, err := nat.Plan(c.Cfg)
		if err != nil {
			b.Fatal(err)
		}
		got, err := nat.Plan(c.Cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if d := nat.Compare(want, got); !d.Empty() {
					b.Fatal(d)
				}
			}
		})
	}
}

//go:build linux

package kernel

import (
	"testing"

	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
)

// BenchmarkVerifyLarge is the read path of verify, explain and a re-apply
// against installed tables, in a namespace of its own: Live is the dump
// requests and their decoding into the model, Compare the comparison with
// the plan, Verify both (what `proxy-init verify` does after planning).
func BenchmarkVerifyLarge(b *testing.B) {
	for _, c := range testcfg.BenchConfigs() {
		b.Run(c.Name, func(b *testing.B) {
			testns.RequireRoot(b)
			rs, err := nat.Plan(c.Cfg)
			if err != nil {
				b.Fatal(err)
			}
			ns := testns.New(b)
			cl := OpenClient(b, ns)
			if _, err := cl.Apply(b.Context(), rs); err != nil {
				b.Fatal(err)
			}
			live, err := cl.Live(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			b.Run("Live", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := cl.Live(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Compare", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if d := nat.Compare(rs, live); !d.Empty() {
						b.Fatalf("live differs from the plan:\n%.2000s", d)
					}
				}
			})
			b.Run("Verify", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					d, err := cl.Verify(b.Context(), rs)
					if err != nil || !d.Empty() {
						b.Fatalf("verify: %v, %v", d, err)
					}
				}
			})
		})
	}
}

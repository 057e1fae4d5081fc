package pod_test

import (
	"net/netip"
	"testing"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// Configurations that upstream accepts and that work are accepted, with a
// warning as data (stable code) that every front end gets from Apply and
// Simulate. Simulate needs no kernel, so this runs anywhere.
func TestSimulateWarnsAboutAcceptedOddities(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*nat.Config)
		want []string
	}{
		{"defaults", func(*nat.Config) {}, nil},
		{"same proxy port", func(c *nat.Config) { c.InboundProxyPort, c.OutboundProxyPort = 8080, 8080 }, []string{pod.WarnSameProxyPort}},
		{"host bits", func(c *nat.Config) {
			c.InboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("10.1.2.3/16")}
			c.OutboundSubnetsToIgnore = []netip.Prefix{netip.MustParsePrefix("fd00::1/8")}
		}, []string{pod.WarnSubnetHostBits}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := nat.DefaultConfig()
			tc.edit(&cfg)
			res, err := pod.Simulate(cfg, nil)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			var got []string
			for _, w := range res.Warnings {
				got = append(got, w.Code)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Fatalf("warnings %v, want %v (%+v)", got, tc.want, res.Warnings)
			}
		})
	}
}

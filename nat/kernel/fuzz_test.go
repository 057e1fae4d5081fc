//go:build linux

package kernel_test

import (
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
)

// The seed corpus is in testdata/fuzz/FuzzConfigApply/ and is run by every
// `go test`; `make fuzz` fuzzes the target for $(FUZZTIME).

// FuzzConfigApply: config -> plan -> kernel. What plans installs (Apply
// over whatever the previous input left), reads back equal to the plan,
// lists in nft exactly as our own listing says, and loading the rendered
// text with nft -f gives the same tables again, as we read them back.
func FuzzConfigApply(f *testing.F) {
	testcfg.AddConfigSeeds(f)
	ns := testns.New(f)
	c := kernel.OpenClient(f, ns)
	f.Fuzz(func(t *testing.T, in, out uint16, uid, gid int64, redirect, inIgnore, outIgnore, subnets, outSubnets string, ipv6 bool) {
		cfg, ok := testcfg.FuzzConfig(in, out, uid, gid, redirect, inIgnore, outIgnore, subnets, outSubnets, ipv6)
		if !ok {
			return
		}
		rs, err := nat.Plan(cfg)
		if err != nil {
			return
		}
		if _, err := c.Apply(t.Context(), rs); err != nil {
			t.Fatalf("Apply %+v: %v", cfg, err)
		}
		if d, err := kernel.VerifyText(t.Context(), c, rs); err != nil || d != "" {
			t.Fatalf("verify after apply: err %v, diff:\n%s", err, d)
		}
		if got := ns.Ruleset(t); got != rs.Listing(false) {
			t.Fatalf("nft lists our install differently from our own listing (- ours, + nft):\n%s", linediff.Diff(rs.Listing(false), got))
		}
		cmd := ns.Command("nft", "-f", "-")
		cmd.Stdin = strings.NewReader(rs.Render())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft -f of the rendered text: %v\n%s", err, out)
		}
		if d, err := kernel.VerifyText(t.Context(), c, rs); err != nil || d != "" {
			t.Fatalf("verify after nft -f of the rendered text: err %v, diff:\n%s", err, d)
		}
	})
}

package nat_test

import (
	"context"
	"errors"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testcfg"
	. "github.com/proxy-init/netlink-native/nat"
)

// TestValidateRefusesBaseChainsLoweringWouldChange: a hand-made base chain
// with a hook, type or policy proxy-init does not install is refused as a
// configuration error, by Validate and by the Fake alike, even when the
// Fake already holds that very Ruleset. Lowering maps every hook but
// output to prerouting and always creates policy accept, so accepting it
// would install something else than asked and Verify would differ forever.
func TestValidateRefusesBaseChainsLoweringWouldChange(t *testing.T) {
	ctx := context.Background()
	for name, mutate := range testcfg.BadBaseChains() {
		rs := MustPlan(t, fullConfig())
		mutate(rs)
		err := rs.Validate()
		var ke *KernelError
		if !IsConfig(err) || errors.As(err, &ke) {
			t.Errorf("%s: Validate: %v; want a configuration error, not a kernel error", name, err)
		}
		f := NewFake()
		f.Set(rs) // another writer put it there: Apply must still refuse it
		if _, aerr := f.Apply(ctx, rs); aerr == nil || aerr.Error() != err.Error() {
			t.Errorf("%s: Fake.Apply: %v; want %v", name, aerr, err)
		}
		if cerr := f.Check(ctx, rs); cerr == nil || cerr.Error() != err.Error() {
			t.Errorf("%s: Fake.Check: %v; want %v", name, cerr, err)
		}
		if f.Writes != 0 {
			t.Errorf("%s: a refused Ruleset was stored", name)
		}
	}
	if err := MustPlan(t, fullConfig()).Validate(); err != nil {
		t.Fatalf("a plan is refused: %v", err)
	}
}

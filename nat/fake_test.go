package nat_test

import (
	"context"
	"errors"
	"io/fs"
	"net/netip"
	"testing"

	. "github.com/proxy-init/netlink-native/nat"
)

func TestFake(t *testing.T) {
	ctx := context.Background()
	var f Fake // the zero value is an empty namespace
	rs := MustPlan(t, fullConfig())
	for i, want := range []Outcome{Installed, Unchanged} {
		if got, err := f.Apply(ctx, rs); err != nil || got != want {
			t.Fatalf("apply %d: %v, %v; want %v", i, got, err, want)
		}
	}
	// The fake keeps its own copy: the caller's plan may change.
	rs.Tables[0].Chains[0].Rules = nil
	if d, _ := f.Verify(ctx, MustPlan(t, fullConfig())); !d.Empty() {
		t.Fatalf("the fake shares the caller's plan:\n%s", d)
	}
	// Another writer changes the tables: verify sees it, apply repairs it.
	f.Set(MustPlan(t, DefaultConfig()))
	if d, _ := f.Verify(ctx, MustPlan(t, fullConfig())); d.Empty() {
		t.Fatal("verify missed the change")
	}
	if got, _ := f.Apply(ctx, MustPlan(t, fullConfig())); got != Replaced {
		t.Fatalf("apply over a change: %v", got)
	}

	// Check and Apply refuse a rule that looks up a missing set, as the
	// kernel does, and change nothing.
	bad := MustPlan(t, fullConfig())
	bad.Tables[0].Sets = bad.Tables[0].Sets[1:]
	writes := f.Writes
	for name, err := range map[string]error{"check": f.Check(ctx, bad), "apply": func() error { _, err := f.Apply(ctx, bad); return err }()} {
		if OpOf(err) != OpAddRule || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a rule with a missing set: %v", name, err)
		}
	}
	if f.Writes != writes {
		t.Error("a refused apply wrote")
	}
	if err := f.Check(ctx, MustPlan(t, DefaultConfig())); err != nil {
		t.Errorf("check of a good plan: %v", err)
	}

	if removed, err := f.Remove(ctx); err != nil || !removed {
		t.Fatalf("remove: %v, %v", removed, err)
	}
	if removed, _ := f.Remove(ctx); removed {
		t.Fatal("second remove found something")
	}
	// Injected failures are the step's, and the engine's interface is
	// what callers hold.
	var e Engine = &Fake{Fail: func(op Op) error {
		if op == OpRead {
			return NewKernelError(op, KindPermission, errors.New("operation not permitted"))
		}
		return nil
	}}
	if _, err := e.Live(ctx); !IsPermission(err) {
		t.Fatalf("injected failure: %v", err)
	}
}

// TestFakeFailIsCalledLocked: Fail is called with the fake locked, as its
// doc says, by every method that asks it, so that a Fail func shared by
// goroutines using one fake needs no lock of its own.
func TestFakeFailIsCalledLocked(t *testing.T) {
	ctx := context.Background()
	f := &Fake{}
	var unlocked []Op
	f.Fail = func(op Op) error {
		if !FakeLocked(f) {
			unlocked = append(unlocked, op)
		}
		return nil
	}
	rs := MustPlan(t, DefaultConfig())
	f.Apply(ctx, rs)
	f.Check(ctx, rs)
	f.Live(ctx)
	f.Verify(ctx, rs)
	f.LegacyNATPresent(ctx)
	f.OpenCloseWait(ctx)
	f.BaseChains(ctx)
	f.Route(ctx, netip.MustParseAddr("192.0.2.1"), NoID)
	f.Remove(ctx)
	if len(unlocked) != 0 {
		t.Fatalf("Fail called without the lock for %v", unlocked)
	}
}

// TestFakeReadsHonourAnEndedContext: the fake's reads stop at an ended
// context, as *kernel.Client's do (its Live, Verify, BaseChains, Route).
func TestFakeReadsHonourAnEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := &Fake{}
	_, errLive := f.Live(ctx)
	_, errVerify := f.Verify(ctx, MustPlan(t, DefaultConfig()))
	_, errChains := f.BaseChains(ctx)
	_, errRoute := f.Route(ctx, netip.MustParseAddr("192.0.2.1"), NoID)
	for name, err := range map[string]error{"Live": errLive, "Verify": errVerify, "BaseChains": errChains, "Route": errRoute} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with an ended context: %v", name, err)
		}
	}
}

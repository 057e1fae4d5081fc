package pod_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"

	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/explain"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// setUpPod is "a user's code": a small front end, as a CNI plugin or an
// operator would write it, that programs a pod through pod.Apply and turns
// the outcome into its own result. Tests hand it a target on a *nat.Fake;
// in production it gets pod.AtPath(netns).
func setUpPod(ctx context.Context, t pod.Target, ignorePorts []nat.PortRange, closeWait int) (string, error) {
	cfg := nat.DefaultConfig()
	cfg.InboundPortsToIgnore = ignorePorts
	rep, err := pod.Apply(ctx, t, cfg, pod.ApplyOptions{CloseWaitSecs: closeWait})
	switch {
	case nat.IsConfig(err):
		return "", fmt.Errorf("bad configuration: %w", err)
	case nat.IsPermission(err):
		return "", fmt.Errorf("grant NET_ADMIN: %w", err)
	case nat.IsMissingFeature(err):
		return "", fmt.Errorf("node kernel too old: %w", err)
	case err != nil:
		return "", err
	}
	var codes []string
	for _, w := range rep.Warnings {
		codes = append(codes, w.Code)
	}
	return fmt.Sprintf("%s %d rules warnings=%v", rep.Outcome, rep.Plan.RuleCount(), codes), nil
}

func TestUserCodeAgainstTheFake(t *testing.T) {
	ctx := context.Background()
	ports := []nat.PortRange{{First: 4190, Last: 4191}}

	fake := nat.NewFake()
	got, err := setUpPod(ctx, pod.OnEngine(fake), ports, 0)
	if err != nil || got != "installed 14 rules warnings=[]" {
		t.Fatalf("first set-up: %q, %v", got, err)
	}
	if got, _ := setUpPod(ctx, pod.OnEngine(fake), ports, 0); got != "unchanged 14 rules warnings=[]" {
		t.Fatalf("second set-up: %q", got)
	}
	if got, _ := setUpPod(ctx, pod.OnEngine(fake), nil, 0); got != "replaced 12 rules warnings=[]" {
		t.Fatalf("reconfigured: %q", got)
	}
	if fake.Writes != 2 {
		t.Fatalf("%d transactions, want 2 (install, replace)", fake.Writes)
	}

	// The kernel's answers, as the Fake plays them.
	for name, tc := range map[string]struct {
		fail func(nat.Op) error
		want string
	}{
		"no capability": {func(op nat.Op) error {
			return nat.NewKernelError(op, nat.KindPermission, syscall.EPERM)
		}, "grant NET_ADMIN"},
		"no redirect module": {func(op nat.Op) error {
			if op == nat.OpCreateTable {
				return nat.NewKernelError(nat.OpAddRule, nat.KindMissingFeature, syscall.ENOENT)
			}
			return nil
		}, "node kernel too old"},
	} {
		f := &nat.Fake{Fail: tc.fail}
		if _, err := setUpPod(ctx, pod.OnEngine(f), ports, 0); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
		f.Fail = nil
		if live, _ := f.Live(ctx); len(live.Tables) != 0 || f.Writes != 0 {
			t.Errorf("%s: the failed run wrote", name)
		}
	}
	if _, err := setUpPod(ctx, pod.OnEngine(nat.NewFake()), []nat.PortRange{{First: 10, Last: 1}}, 0); err == nil || !strings.HasPrefix(err.Error(), "bad configuration") {
		t.Errorf("reversed range: err %v, want a configuration error", err)
	}
	// A nil engine is refused, never taken for "the kernel, here".
	if _, err := setUpPod(ctx, pod.OnEngine(nil), ports, 0); err == nil || nat.IsConfig(err) {
		t.Errorf("OnEngine(nil): err %v, want a refusal", err)
	}
}

// TestOperationsOnTheFake: the pod-level sequence itself, without root: the
// IPv6 fallback, the legacy-NAT warning, the close-wait ordering, verify,
// show, remove, check and inspect.
func TestOperationsOnTheFake(t *testing.T) {
	ctx := context.Background()
	cfg := nat.DefaultConfig()

	t.Run("IPv6 disabled: IPv4 rules and a warning", func(t *testing.T) {
		f := &nat.Fake{NoIPv6: true, LegacyNAT: true}
		rep, err := pod.Apply(ctx, pod.OnEngine(f), cfg, pod.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Plan.Tables) != 1 || rep.Plan.Tables[0].Family != nat.IPv4 {
			t.Fatalf("plan has %d tables, want the ip table only", len(rep.Plan.Tables))
		}
		if len(rep.Warnings) != 2 || rep.Warnings[0].Code != pod.WarnIPv6Disabled || rep.Warnings[1].Code != pod.WarnLegacyNAT {
			t.Fatalf("warnings %+v", rep.Warnings)
		}
	})

	t.Run("close-wait: set after apply once conntrack exists", func(t *testing.T) {
		f := &nat.Fake{NoConntrack: true}
		if _, err := pod.Apply(ctx, pod.OnEngine(f), cfg, pod.ApplyOptions{CloseWaitSecs: 7}); err != nil {
			t.Fatal(err)
		}
		if f.CloseWait != 7 {
			t.Fatalf("close-wait = %d, want 7", f.CloseWait)
		}
	})

	t.Run("close-wait: an unwritable sysctl fails before any write", func(t *testing.T) {
		f := &nat.Fake{Fail: func(op nat.Op) error {
			if op == nat.OpSysctl {
				return nat.NewKernelError(op, nat.KindOther, syscall.EACCES)
			}
			return nil
		}}
		_, err := pod.Apply(ctx, pod.OnEngine(f), cfg, pod.ApplyOptions{CloseWaitSecs: 7})
		if nat.OpOf(err) != nat.OpSysctl || !strings.Contains(err.Error(), "close-wait timeout to 7 s") {
			t.Fatalf("err %v, want the sysctl step naming the value", err)
		}
		if f.Writes != 0 {
			t.Fatal("the rules were written although the sysctl could not be")
		}
	})

	t.Run("close-wait: refused before any write on an engine that is not a nat.Host", func(t *testing.T) {
		f := nat.NewFake()
		engineOnly := struct{ nat.Engine }{f} // hides the Fake's nat.Host methods
		_, err := pod.Apply(ctx, pod.OnEngine(engineOnly), cfg, pod.ApplyOptions{CloseWaitSecs: 7})
		var ce *nat.ConfigError
		if !errors.As(err, &ce) || ce.Field != nat.FieldCloseWaitSecs || f.Writes != 0 {
			t.Fatalf("err %v, writes %d; want a configuration error of FieldCloseWaitSecs and no write", err, f.Writes)
		}
		if _, err := pod.Apply(ctx, pod.OnEngine(engineOnly), cfg, pod.ApplyOptions{}); err != nil || f.Writes != 1 {
			t.Fatalf("without close-wait: %v, writes %d", err, f.Writes)
		}
	})

	t.Run("verify, show, remove", func(t *testing.T) {
		f := nat.NewFake()
		tg := pod.OnEngine(f)
		rep, err := pod.Verify(ctx, tg, cfg)
		if err != nil || rep.Changes.Empty() || len(rep.Changes.Missing) != rep.Plan.RuleCount() || !strings.Contains(rep.Changes.String(), "-table ip proxy_init") {
			t.Fatalf("verify of an empty namespace: err %v, result %+v", err, rep)
		}
		applied, err := pod.Apply(ctx, tg, cfg, pod.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rep, err = pod.Verify(ctx, tg, cfg)
		if err != nil || !rep.Changes.Empty() || rep.Changes.String() != "" {
			t.Fatalf("verify after apply: err %v, diff %q", err, rep.Changes)
		}
		live, err := pod.Show(ctx, tg)
		if err != nil || live.Listing(false) != applied.Plan.Listing(false) {
			t.Fatalf("show: err %v", err)
		}
		for _, want := range []bool{true, false} {
			if removed, err := pod.Remove(ctx, tg); err != nil || removed != want {
				t.Fatalf("remove: %v, %v; want %v", removed, err, want)
			}
		}
	})

	t.Run("check: refused or not, nothing is written", func(t *testing.T) {
		f := nat.NewFake()
		if _, err := pod.Check(ctx, pod.OnEngine(f), cfg); err != nil || f.Writes != 0 {
			t.Fatalf("check: %v, writes %d", err, f.Writes)
		}
		f.Fail = func(op nat.Op) error {
			if op == nat.OpCreateTable {
				return nat.NewKernelError(nat.OpAddRule, nat.KindMissingFeature, syscall.EOPNOTSUPP)
			}
			return nil
		}
		if _, err := pod.Check(ctx, pod.OnEngine(f), cfg); !nat.IsMissingFeature(err) || f.Writes != 0 {
			t.Fatalf("refused check: %v, writes %d", err, f.Writes)
		}
	})

	t.Run("inspect with a flow: the route gives the output interface", func(t *testing.T) {
		own, remote := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.9")
		f := &nat.Fake{Routes: map[netip.Addr]nat.Route{own: {OIF: "lo", Type: "local"}, remote: {OIF: "eth0", Type: "unicast"}}}
		tg := pod.OnEngine(f)
		if _, err := pod.Apply(ctx, tg, cfg, pod.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			dst       netip.Addr
			oif       string
			decidedBy string
			route     string
		}{
			{own, "", "proxy-init/ignore-loopback", "local 10.0.0.2 dev lo"},
			{remote, "", "proxy-init/redirect-all-outgoing-to-proxy-port", "10.0.0.9 dev eth0"},
			{netip.MustParseAddr("203.0.113.1"), "", "proxy-init/redirect-all-outgoing-to-proxy-port", "no route to 203.0.113.1: network is unreachable"},
			{own, "eth0", "proxy-init/redirect-all-outgoing-to-proxy-port", ""}, // given: not looked up
		} {
			flow := explain.Flow{Direction: explain.Outbound, Dst: netip.AddrPortFrom(tc.dst, 8080), UID: 1000, GID: nat.NoID, OIF: tc.oif}
			rep, err := pod.Inspect(ctx, tg, cfg, &flow)
			if err != nil {
				t.Fatal(err)
			}
			route := ""
			if rep.Flow.Route != nil {
				route = rep.Flow.Route.String()
			}
			if rep.Trace == nil || rep.Trace.DecidedBy != tc.decidedBy || route != tc.route || (tc.route != "") != (rep.Trace.Route != nil) {
				t.Errorf("%s oif %q: decided by %v, route %q; want %s, %q", tc.dst, tc.oif, rep.Trace, route, tc.decidedBy, tc.route)
			}
		}
		flow := explain.Flow{Direction: explain.Outbound, Dst: netip.AddrPortFrom(own, 8080), UID: 1000, GID: nat.NoID}
		// A failed lookup is the run's error, classified.
		f.Fail = func(op nat.Op) error {
			if op == nat.OpProbe {
				return nat.NewKernelError(op, nat.KindOther, syscall.EIO)
			}
			return nil
		}
		if _, err := pod.Inspect(ctx, tg, cfg, &flow); nat.OpOf(err) != nat.OpProbe {
			t.Fatalf("failed lookup: %v", err)
		}
		// A bad flow is refused before anything is read.
		f.Fail = func(op nat.Op) error { return nat.NewKernelError(op, nat.KindOther, syscall.EIO) }
		var fe *explain.FlowError
		if _, err := pod.Inspect(ctx, tg, cfg, &explain.Flow{Direction: explain.Outbound}); !errors.As(err, &fe) {
			t.Fatalf("flow without a destination: %v", err)
		}
	})

	t.Run("a cancelled context touches nothing", func(t *testing.T) {
		f := nat.NewFake()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := pod.Apply(cctx, pod.OnEngine(f), cfg, pod.ApplyOptions{}); !errors.Is(err, context.Canceled) || f.Writes != 0 {
			t.Fatalf("err %v, writes %d", err, f.Writes)
		}
	})
}

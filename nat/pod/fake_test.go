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
// operator would write it, that programs a pod through pod.Run and turns the
// outcome into its own result. Tests hand it a *nat.Fake; in production it
// gets nil and Run opens the kernel in netns.
func setUpPod(ctx context.Context, eng nat.Engine, netns string, ignorePorts []nat.PortRange, closeWait int) (string, error) {
	cfg := nat.DefaultConfig()
	cfg.InboundPortsToIgnore = ignorePorts
	rep, err := pod.Run(ctx, pod.Request{Op: pod.Apply, Config: cfg, NetNS: netns, Engine: eng, CloseWaitSecs: closeWait})
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
	got, err := setUpPod(ctx, fake, "", ports, 0)
	if err != nil || got != "installed 14 rules warnings=[]" {
		t.Fatalf("first set-up: %q, %v", got, err)
	}
	if got, _ := setUpPod(ctx, fake, "", ports, 0); got != "unchanged 14 rules warnings=[]" {
		t.Fatalf("second set-up: %q", got)
	}
	if got, _ := setUpPod(ctx, fake, "", nil, 0); got != "replaced 12 rules warnings=[]" {
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
		if _, err := setUpPod(ctx, f, "", ports, 0); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
		f.Fail = nil
		if live, _ := f.Live(ctx); len(live.Tables) != 0 || f.Writes != 0 {
			t.Errorf("%s: the failed run wrote", name)
		}
	}
	if _, err := setUpPod(ctx, nat.NewFake(), "", []nat.PortRange{{First: 10, Last: 1}}, 0); err == nil || !strings.HasPrefix(err.Error(), "bad configuration") {
		t.Errorf("reversed range: err %v, want a configuration error", err)
	}
	if _, err := setUpPod(ctx, nat.NewFake(), "/run/netns/x", ports, 0); err == nil {
		t.Error("an Engine and a namespace path together must be refused")
	}
}

// TestRunOnTheFake: the pod-level sequence itself, without root: the IPv6
// fallback, the legacy-NAT warning, the close-wait ordering, verify and show.
func TestRunOnTheFake(t *testing.T) {
	ctx := context.Background()
	cfg := nat.DefaultConfig()

	t.Run("IPv6 disabled: IPv4 rules and a warning", func(t *testing.T) {
		f := &nat.Fake{NoIPv6: true, LegacyNAT: true}
		rep, err := pod.Run(ctx, pod.Request{Config: cfg, Engine: f})
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
		if _, err := pod.Run(ctx, pod.Request{Config: cfg, Engine: f, CloseWaitSecs: 7}); err != nil {
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
		_, err := pod.Run(ctx, pod.Request{Config: cfg, Engine: f, CloseWaitSecs: 7})
		if nat.OpOf(err) != nat.OpSysctl || !strings.Contains(err.Error(), "--timeout-close-wait-secs=7") {
			t.Fatalf("err %v, want the sysctl step naming the flag", err)
		}
		if f.Writes != 0 {
			t.Fatal("the rules were written although the sysctl could not be")
		}
	})

	t.Run("verify, show, remove", func(t *testing.T) {
		f := nat.NewFake()
		rep, err := pod.Run(ctx, pod.Request{Op: pod.Verify, Config: cfg, Engine: f})
		if err != nil || rep.Changes.Empty() || len(rep.Changes.Missing) != rep.Plan.RuleCount() || !strings.Contains(rep.Diff, "-table ip proxy_init") {
			t.Fatalf("verify of an empty namespace: err %v, changes %+v, diff:\n%s", err, rep.Changes, rep.Diff)
		}
		if _, err := pod.Run(ctx, pod.Request{Config: cfg, Engine: f}); err != nil {
			t.Fatal(err)
		}
		rep, err = pod.Run(ctx, pod.Request{Op: pod.Verify, Config: cfg, Engine: f})
		if err != nil || !rep.Changes.Empty() || rep.Diff != "" {
			t.Fatalf("verify after apply: err %v, diff %q", err, rep.Diff)
		}
		rep, err = pod.Run(ctx, pod.Request{Op: pod.Show, Engine: f, Config: cfg})
		if err != nil || rep.Live.Listing(false) != rep.Plan.Listing(false) {
			t.Fatalf("show: err %v", err)
		}
		rep, err = pod.Run(ctx, pod.Request{Op: pod.Remove, Engine: f, Config: cfg})
		if err != nil || !rep.Removed {
			t.Fatalf("remove: %v, %v", rep.Removed, err)
		}
	})

	t.Run("check: refused or not, nothing is written", func(t *testing.T) {
		f := nat.NewFake()
		if _, err := pod.Run(ctx, pod.Request{Op: pod.Check, Config: cfg, Engine: f}); err != nil || f.Writes != 0 {
			t.Fatalf("check: %v, writes %d", err, f.Writes)
		}
		f.Fail = func(op nat.Op) error {
			if op == nat.OpCreateTable {
				return nat.NewKernelError(nat.OpAddRule, nat.KindMissingFeature, syscall.EOPNOTSUPP)
			}
			return nil
		}
		if _, err := pod.Run(ctx, pod.Request{Op: pod.Check, Config: cfg, Engine: f}); !nat.IsMissingFeature(err) || f.Writes != 0 {
			t.Fatalf("refused check: %v, writes %d", err, f.Writes)
		}
	})

	t.Run("inspect with a flow: the route gives the output interface", func(t *testing.T) {
		own, remote := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.9")
		f := &nat.Fake{Routes: map[netip.Addr]nat.Route{own: {OIF: "lo", Type: "local"}, remote: {OIF: "eth0", Type: "unicast"}}}
		if _, err := pod.Run(ctx, pod.Request{Config: cfg, Engine: f}); err != nil {
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
			rep, err := pod.Run(ctx, pod.Request{Op: pod.Inspect, Config: cfg, Engine: f, Flow: &flow})
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
		// With simulate, the plan is explained without asking a kernel.
		flow := explain.Flow{Direction: explain.Outbound, Dst: netip.AddrPortFrom(own, 8080), UID: 1000, GID: nat.NoID}
		f.Fail = func(op nat.Op) error { return nat.NewKernelError(op, nat.KindOther, syscall.EIO) }
		rep, err := pod.Run(ctx, pod.Request{Simulate: true, Config: cfg, Engine: f, Flow: &flow})
		if err != nil || rep.Trace.Route != nil || !rep.Trace.Redirected() {
			t.Fatalf("simulate: %v, %+v", err, rep.Trace)
		}
		// A failed lookup is the run's error, classified.
		f.Fail = func(op nat.Op) error {
			if op == nat.OpProbe {
				return nat.NewKernelError(op, nat.KindOther, syscall.EIO)
			}
			return nil
		}
		if _, err := pod.Run(ctx, pod.Request{Op: pod.Inspect, Config: cfg, Engine: f, Flow: &flow}); nat.OpOf(err) != nat.OpProbe {
			t.Fatalf("failed lookup: %v", err)
		}
		// A flow is for Inspect and Simulate only; a bad one is refused
		// before anything is read.
		if _, err := pod.Run(ctx, pod.Request{Op: pod.Verify, Config: cfg, Engine: f, Flow: &flow}); err == nil {
			t.Fatal("verify took a flow")
		}
		var fe *explain.FlowError
		if _, err := pod.Run(ctx, pod.Request{Op: pod.Inspect, Config: cfg, Engine: f, Flow: &explain.Flow{Direction: explain.Outbound}}); !errors.As(err, &fe) {
			t.Fatalf("flow without a destination: %v", err)
		}
	})

	t.Run("a cancelled context touches nothing", func(t *testing.T) {
		f := nat.NewFake()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := pod.Run(cctx, pod.Request{Config: cfg, Engine: f}); !errors.Is(err, context.Canceled) || f.Writes != 0 {
			t.Fatalf("err %v, writes %d", err, f.Writes)
		}
	})
}

// TestSimulateOnlyWithApply: Simulate with another operation is a
// configuration error that errors.Is matches with ErrSimulateOp, and
// nothing is touched.
func TestSimulateOnlyWithApply(t *testing.T) {
	for _, op := range []pod.Op{pod.Remove, pod.Verify, pod.Show, pod.Inspect, pod.Check} {
		f := nat.NewFake()
		_, err := pod.Run(context.Background(), pod.Request{Op: op, Config: nat.DefaultConfig(), Simulate: true, Engine: f})
		if !nat.IsConfig(err) || !errors.Is(err, pod.ErrSimulateOp) || f.Writes != 0 {
			t.Errorf("%v with Simulate: %v (config: %v, is ErrSimulateOp: %v)", op, err, nat.IsConfig(err), errors.Is(err, pod.ErrSimulateOp))
		}
	}
}

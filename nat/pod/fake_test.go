package pod_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/proxy-init/netlink-native/nat"
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

	t.Run("a cancelled context touches nothing", func(t *testing.T) {
		f := nat.NewFake()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := pod.Run(cctx, pod.Request{Config: cfg, Engine: f}); !errors.Is(err, context.Canceled) || f.Writes != 0 {
			t.Fatalf("err %v, writes %d", err, f.Writes)
		}
	})
}

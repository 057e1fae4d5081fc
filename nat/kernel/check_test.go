//go:build linux

package kernel_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/testcfg"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/kernel"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// freshOrInstalled is a client on a new namespace, holding the default
// configuration when installed is set: the two states a refusal must leave
// as they were.
func freshOrInstalled(t *testing.T, installed bool) (*testns.NS, *kernel.Client) {
	t.Helper()
	ns := testns.New(t)
	c := kernel.OpenClient(t, ns)
	if installed {
		kernel.MustApply(t, c, nattest.MustPlan(t, nat.DefaultConfig()))
	}
	return ns, c
}

// TestKernelCheck: the kernel validates the batch Apply would send and
// aborts it: a good plan passes, a refused one reports the refusal, and the
// ruleset (listing with handles) is unchanged either way, in a fresh
// namespace and over an install.
func TestKernelCheck(t *testing.T) {
	for _, existing := range []bool{false, true} {
		ns, c := freshOrInstalled(t, existing)
		before := snapshotRuleset(t, ns)
		if err := c.Check(t.Context(), nattest.MustPlan(t, testcfg.Full())); err != nil {
			t.Fatalf("existing=%v: check of a good plan: %v", existing, err)
		}
		if after := snapshotRuleset(t, ns); after != before {
			t.Fatalf("existing=%v: check changed the ruleset:\n%s", existing, linediff.Diff(before, after))
		}
		kernel.SetBeforeCommit(c, poison)
		err := c.Check(t.Context(), nattest.MustPlan(t, testcfg.Full()))
		requirePoisonRefused(t, err)
		if nat.OpOf(err) != nat.OpAddRule {
			t.Fatalf("refused check: op %v, want add rule", nat.OpOf(err))
		}
		if after := snapshotRuleset(t, ns); after != before {
			t.Fatalf("existing=%v: a refused check changed the ruleset:\n%s", existing, linediff.Diff(before, after))
		}
		kernel.SetBeforeCommit(c, nil)
	}
}

// TestKernelContext: a context that has ended stops a call before it
// writes; a deadline bounds the call.
func TestKernelContext(t *testing.T) {
	ns := testns.New(t)
	c := kernel.OpenClient(t, ns)
	rs := nattest.MustPlan(t, nat.DefaultConfig())
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Apply(cancelled, rs); !errors.Is(err, context.Canceled) {
		t.Fatalf("apply with a cancelled context: %v", err)
	}
	past, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := c.Live(past); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("live with a past deadline: %v", err)
	}
	if got := ns.Ruleset(t); got != "" {
		t.Fatalf("an ended context wrote:\n%s", got)
	}
	soon, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := c.Apply(soon, rs); err != nil {
		t.Fatalf("apply within a deadline: %v", err)
	}
	if _, err := c.Live(t.Context()); err != nil {
		t.Fatalf("live without a deadline after one: %v", err)
	}
}

// TestKernelTargets: a namespace by path (opened and closed by the client),
// by descriptor, and the zero Target meaning the caller's own namespace
// (here: a thread inside a throwaway one); what is not a namespace is
// refused as such, fd 0 included.
func TestKernelTargets(t *testing.T) {
	rs := nattest.MustPlan(t, nat.DefaultConfig())
	ns := testns.New(t)
	c, err := kernel.Open(t.Context(), kernel.AtPath(ns.Path()), kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.Apply(t.Context(), rs); err != nil || out != nat.Installed {
		t.Fatalf("by path: %v, %v", out, err)
	}
	c.Close()
	if got := ns.Ruleset(t); got != rs.Listing(false) {
		t.Fatalf("by path: installed elsewhere:\n%s", got)
	}

	own := testns.New(t)
	err = own.Do(func() error {
		c, err := kernel.Open(t.Context(), kernel.Target{}, kernel.Options{})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Apply(t.Context(), rs)
		return err
	})
	if err != nil {
		t.Fatalf("own namespace: %v", err)
	}
	if got := own.Ruleset(t); got != rs.Listing(false) {
		t.Fatalf("own namespace: installed elsewhere:\n%s", got)
	}

	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	for name, target := range map[string]kernel.Target{
		"a directory":     kernel.AtPath(t.TempDir()),
		"a missing path":  kernel.AtPath("/nonexistent/netns"),
		"a file by fd":    kernel.AtFD(int(devnull.Fd())),
		"fd 0 (stdin)":    kernel.AtFD(0),
		"a closed fd 999": kernel.AtFD(999),
	} {
		_, err := kernel.Open(t.Context(), target, kernel.Options{})
		if nat.OpOf(err) != nat.OpOpenNamespace {
			t.Errorf("%s: err %v (op %v), want the open-namespace step refused", name, err, nat.OpOf(err))
		}
	}
}

// TestKernelDanglingReferenceIsNotAMissingFeature: a rule that looks up a
// set or jumps to a chain its table lacks (a hand-made or altered Ruleset)
// is refused as the Fake refuses it, not with the kernel's ENOENT, which
// would read as a missing expression module (IsMissingFeature, the
// CONFIG_NFT_REDIR hint); Apply and Check change nothing.
func TestKernelDanglingReferenceIsNotAMissingFeature(t *testing.T) {
	cfg := nat.DefaultConfig()
	cfg.OutboundPortsToIgnore = []nat.PortRange{{First: 443, Last: 443}}
	noSet := nattest.MustPlan(t, cfg)
	noSet.Tables[1].Sets = nil
	noChain := nattest.MustPlan(t, cfg)
	noChain.Tables[0].Chains = noChain.Tables[0].Chains[1:] // PROXY_INIT_REDIRECT, PREROUTING's jump target
	for name, rs := range map[string]*nat.Ruleset{"missing set": noSet, "missing chain": noChain} {
		for _, existing := range []bool{false, true} {
			ns, c := freshOrInstalled(t, existing)
			before := snapshotRuleset(t, ns)
			_, applyErr := c.Apply(t.Context(), rs)
			checkErr := c.Check(t.Context(), rs)
			_, fakeErr := nat.NewFake().Apply(t.Context(), rs)
			for what, err := range map[string]error{"apply": applyErr, "check": checkErr} {
				if err == nil || nat.IsMissingFeature(err) || nat.OpOf(err) != nat.OpAddRule || !errors.Is(err, os.ErrNotExist) || err.Error() != fakeErr.Error() {
					t.Errorf("%s, existing=%v: %s: %v (missing feature: %v); want the Fake's refusal %v", name, existing, what, err, nat.IsMissingFeature(err), fakeErr)
				}
			}
			if after := snapshotRuleset(t, ns); after != before {
				t.Errorf("%s, existing=%v: a refused ruleset changed the kernel's:\n%s", name, existing, linediff.Diff(before, after))
			}
		}
	}
}

// TestKernelForeignTableIsRefused: a Ruleset naming a table that is not
// ours (another name, such as iptables-nft's ip nat, another family, or a
// family twice) is refused by Apply and Check before anything is sent, as
// the Fake refuses it: the kernel would otherwise create that table, or
// add our chains and rules to iptables-nft's, and Live, Verify and Remove,
// which see only our tables, would never show or remove it.
func TestKernelForeignTableIsRefused(t *testing.T) {
	bad := map[string]func(rs *nat.Ruleset){
		"another name":       func(rs *nat.Ruleset) { rs.Tables[0].Name = "foo" },
		"iptables-nft's":     func(rs *nat.Ruleset) { rs.Tables[0].Name = "nat" },
		"the inet family":    func(rs *nat.Ruleset) { rs.Tables[1].Family = 1 },
		"ip twice":           func(rs *nat.Ruleset) { rs.Tables[1].Family = nat.IPv4 },
		"ip6 with ip's name": func(rs *nat.Ruleset) { rs.Tables[1].Name = "proxy_init6" },
	}
	for name, mutate := range bad {
		rs := nattest.MustPlan(t, nat.DefaultConfig())
		mutate(rs)
		ns := testns.New(t)
		ns.Run(t, "iptables-nft", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "--dport", "99", "-j", "RETURN")
		c := kernel.OpenClient(t, ns)
		before := snapshotRuleset(t, ns)
		_, applyErr := c.Apply(t.Context(), rs)
		checkErr := c.Check(t.Context(), rs)
		_, fakeErr := nat.NewFake().Apply(t.Context(), rs)
		for what, err := range map[string]error{"apply": applyErr, "check": checkErr} {
			if err == nil || nat.OpOf(err) != nat.OpCreateTable || fakeErr == nil || err.Error() != fakeErr.Error() {
				t.Errorf("%s: %s: %v; want the Fake's refusal %v", name, what, err, fakeErr)
			}
		}
		if after := snapshotRuleset(t, ns); after != before {
			t.Errorf("%s: a refused ruleset changed the kernel's:\n%s", name, linediff.Diff(before, after))
		}
	}
}

// TestKernelUnencodableRulesetIsRefusedAsByTheFake: what Live returns of a
// rule or set proxy-init does not write (Unrecognised), and a rule without
// a verdict, cannot be installed; Apply and Check refuse it as the Fake
// does, which used to store it, so that a user's "read back, apply again"
// tested on the Fake would not pass there and fail on the kernel.
func TestKernelUnencodableRulesetIsRefusedAsByTheFake(t *testing.T) {
	for name, mutate := range map[string]func(rs *nat.Ruleset){
		"unrecognised rule": func(rs *nat.Ruleset) {
			c := rs.Tables[0].Chain(nat.ChainOutput)
			c.Rules = append(c.Rules, &nat.Rule{Unrecognised: "meta skuid 1000 return"})
		},
		"rule without a verdict": func(rs *nat.Ruleset) { rs.Tables[1].Chain(nat.ChainOutput).Rules[0].Verdict = nil },
		"unrecognised set": func(rs *nat.Ruleset) {
			rs.Tables[0].Sets = append(rs.Tables[0].Sets, &nat.Set{Name: "theirs", Unrecognised: "key type mark"})
		},
	} {
		rs := nattest.MustPlan(t, nat.DefaultConfig())
		mutate(rs)
		ns := testns.New(t)
		c := kernel.OpenClient(t, ns)
		_, applyErr := c.Apply(t.Context(), rs)
		checkErr := c.Check(t.Context(), rs)
		fake := nat.NewFake()
		_, fakeErr := fake.Apply(t.Context(), rs)
		for what, err := range map[string]error{"apply": applyErr, "check": checkErr} {
			if err == nil || fakeErr == nil || err.Error() != fakeErr.Error() {
				t.Errorf("%s: %s: %v; want the Fake's refusal %v", name, what, err, fakeErr)
			}
		}
		if fake.Writes != 0 || ns.Ruleset(t) != "" {
			t.Errorf("%s: a refused ruleset was stored (fake writes %d) or installed:\n%s", name, fake.Writes, ns.Ruleset(t))
		}
	}
}

// TestKernelBaseChainLoweringWouldChangeIsRefused: a base chain whose hook,
// type or policy lowering cannot install as written (it knows prerouting
// and output, and creates policy accept) is refused by Apply and Check
// before anything is sent, as a configuration error and with the Fake's
// words. It used to be installed as prerouting/accept and reported
// installed, and Verify then differed forever.
func TestKernelBaseChainLoweringWouldChangeIsRefused(t *testing.T) {
	for name, mutate := range testcfg.BadBaseChains() {
		rs := nattest.MustPlan(t, testcfg.Full())
		mutate(rs)
		ns := testns.New(t)
		c := kernel.OpenClient(t, ns)
		_, applyErr := c.Apply(t.Context(), rs)
		checkErr := c.Check(t.Context(), rs)
		_, fakeErr := nat.NewFake().Apply(t.Context(), rs)
		for what, err := range map[string]error{"apply": applyErr, "check": checkErr} {
			var ke *nat.KernelError
			if !nat.IsConfig(err) || errors.As(err, &ke) || fakeErr == nil || err.Error() != fakeErr.Error() {
				t.Errorf("%s: %s: %v; want the Fake's configuration error %v", name, what, err, fakeErr)
			}
		}
		if got := ns.Ruleset(t); got != "" {
			t.Errorf("%s: a refused ruleset was installed:\n%s", name, got)
		}
	}
}

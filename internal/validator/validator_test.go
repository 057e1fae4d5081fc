package validator_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/internal/validator"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// Addresses the checks connect to. None can leave the test's namespaces: the
// pod's only routes are its veth's documentation prefixes (192.0.2.0/24,
// 2001:db8::/64) and, where a test adds it, fd00::/8 via the peer namespace,
// which forwards nothing.
var (
	// On the pod's link, held by nobody: without rules the SYN waits on
	// an ARP answer that never comes, so only the deadline ends the check.
	unanswered4 = netip.MustParseAddrPort("192.0.2.9:1404")
	// Linkerd's IPv6 form, routed to the peer namespace, which drops it.
	linkerd6 = netip.MustParseAddrPort("[fd00::1]:20001")
	// The peer's own address: reachable without the rules.
	peer4 = netip.MustParseAddrPort("192.0.2.1:1404")
)

// newPod makes a pod/peer topology, installs our rules in the pod with cfg
// unless cfg is nil, and routes fd00::/8 to the peer (which does not
// forward), as a pod's default route would carry Linkerd's fd00::1.
func newPod(t *testing.T, cfg *nat.Config) *topology.Topology {
	t.Helper()
	tp := topology.New(t)
	if _, err := tp.Run(topology.Pod, "ip", "-6", "route", "add", "fd00::/8", "via", tp.PeerAddr6.String()); err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		if _, err := pod.Apply(context.Background(), pod.AtPath(tp.PodPath()), *cfg, pod.ApplyOptions{}); err != nil {
			t.Fatalf("install rules: %v", err)
		}
	}
	return tp
}

func defaultRules() *nat.Config { c := nat.DefaultConfig(); return &c }

// check runs one validation inside the pod namespace.
func check(t *testing.T, tp *topology.Topology, ctx context.Context, listen, connect netip.AddrPort) error {
	t.Helper()
	var verr error
	if err := tp.Do(topology.Pod, func() error {
		verr = validator.Run(ctx, validator.Options{Listen: listen, Connect: connect})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return verr
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestRedirectedIPv4(t *testing.T) {
	tp := newPod(t, defaultRules())
	if err := check(t, tp, withTimeout(t, 5*time.Second), validator.DefaultListen, unanswered4); err != nil {
		t.Fatalf("with our rules installed: %v", err)
	}
	// Upstream's own default target is routable here too (on-link).
	if err := check(t, tp, withTimeout(t, 5*time.Second), validator.DefaultListen, netip.MustParseAddrPort("192.0.2.3:1404")); err != nil {
		t.Fatalf("with our rules installed: %v", err)
	}
}

// Linkerd's IPv6 invocation: --listen-addr [::]:4140 --connect-addr
// [fd00::1]:20001. The redirect lands on [::1]:4140.
func TestRedirectedIPv6(t *testing.T) {
	tp := newPod(t, defaultRules())
	listen := netip.MustParseAddrPort("[::]:4140")
	if err := check(t, tp, withTimeout(t, 5*time.Second), listen, linkerd6); err != nil {
		t.Fatalf("with our rules installed: %v", err)
	}
	// With IPv4-only rules the same check must fail: nothing redirects IPv6.
	v4 := nat.DefaultConfig()
	v4.IPv6 = false
	err := check(t, newPod(t, &v4), withTimeout(t, 500*time.Millisecond), listen, linkerd6)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("IPv6 check with IPv4-only rules: got %v, want a timeout", err)
	}
}

// Without rules the SYN is never answered: the check ends at its deadline,
// and the error says which step and that it was the deadline.
func TestNoRulesTimesOut(t *testing.T) {
	tp := newPod(t, nil)
	for _, dst := range []netip.AddrPort{unanswered4, linkerd6} {
		listen := validator.DefaultListen
		if dst.Addr().Is6() {
			listen = netip.MustParseAddrPort("[::]:4140")
		}
		err := check(t, tp, withTimeout(t, 500*time.Millisecond), listen, dst)
		var ve *validator.Error
		if !errors.As(err, &ve) || ve.Step != validator.StepConnect || ve.Addr != dst || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%v without rules: got %v, want a connect error ending at the deadline", dst, err)
		}
	}
}

// Without rules, a real server at the address answers: its answer is not
// our token, and the error shows what came back.
func TestNoRulesOtherServerAnswers(t *testing.T) {
	tp := newPod(t, nil)
	tp.ListenAddr(topology.Peer, "someone-else", peer4)
	err := check(t, tp, withTimeout(t, 5*time.Second), validator.DefaultListen, peer4)
	var me *validator.MismatchError
	if !errors.As(err, &me) || me.Got != "someone-else "+peer4.String()+"\n" || len(me.Want) != validator.TokenLen+1 {
		t.Fatalf("got %v, want a mismatch showing the other server's answer", err)
	}
}

// Without rules and with nothing at the address, the refusal is reported
// as the connect step's error.
func TestNoRulesRefused(t *testing.T) {
	tp := newPod(t, nil)
	err := check(t, tp, withTimeout(t, 5*time.Second), validator.DefaultListen, peer4)
	var ve *validator.Error
	if !errors.As(err, &ve) || ve.Step != validator.StepConnect || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v, want connection refused at the connect step", err)
	}
}

// The proxy's outbound port already taken (the validator must run before
// the proxy): the listen step fails with EADDRINUSE.
func TestListenAddressBusy(t *testing.T) {
	tp := newPod(t, defaultRules())
	tp.ListenAddr(topology.Pod, "proxy", netip.MustParseAddrPort("0.0.0.0:4140"))
	err := check(t, tp, withTimeout(t, 5*time.Second), validator.DefaultListen, unanswered4)
	var ve *validator.Error
	if !errors.As(err, &ve) || ve.Step != validator.StepListen || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("got %v, want address in use at the listen step", err)
	}
}

// A cancelled check (the front end cancels on SIGTERM) reports the cause
// it was cancelled with.
func TestCancelCause(t *testing.T) {
	tp := newPod(t, nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("killed by SIGTERM")
	time.AfterFunc(100*time.Millisecond, func() { cancel(cause) })
	err := check(t, tp, ctx, validator.DefaultListen, unanswered4)
	if !errors.Is(err, cause) {
		t.Fatalf("got %v, want the cancel cause", err)
	}
}

// Every connection to the listener gets the same token while a check runs:
// 63 alphanumerics and a newline. The check is held open by a connect that
// nobody answers; the test's own clients dial the listener directly.
func TestTokenServedToEveryConnection(t *testing.T) {
	tp := newPod(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listen := netip.MustParseAddrPort("127.0.0.1:4140")
	done := make(chan error, 1)
	// Not check: t.Fatal must not be called from this goroutine.
	go func() {
		done <- tp.Do(topology.Pod, func() error {
			return validator.Run(ctx, validator.Options{Listen: listen, Connect: unanswered4})
		})
	}()
	var tokens []string
	for range 2 {
		// Retried only until the listener exists.
		deadline := time.Now().Add(5 * time.Second)
		o := tp.Dial(topology.Pod, topology.DialOptions{Dst: listen})
		for o.Result != "ok" && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			o = tp.Dial(topology.Pod, topology.DialOptions{Dst: listen})
		}
		// Dial splits an answer "<name> <dst>": a token is all name.
		tokens = append(tokens, o.Listener+o.OrigDst)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the check held open ended with %v, want cancelled", err)
	}
	if tokens[0] != tokens[1] || len(tokens[0]) != validator.TokenLen || strings.Trim(tokens[0], alnum) != "" {
		t.Fatalf("tokens %q: want the same 63 alphanumerics twice", tokens)
	}
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

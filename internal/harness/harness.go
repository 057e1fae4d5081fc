// Package harness runs real TCP connections through proxy-init rules and
// compares where they land. Each case is installed twice, each time into a
// fresh pod/peer topology (package topology): once with the upstream rules
// programmed by iptables-nft one command per rule (package reference, the
// reference semantics) and once with ours (package nat in-process, or the
// built proxy-init binary with --netns). Every flow's outcome on each side is
// compared with the other side and with the landing the case writes down, so
// the two implementations cannot be wrong the same way unnoticed.
//
// The outcome of a flow is which listener answered and with which original
// destination (read with SO_ORIGINAL_DST by the stand-in proxies), or
// "refused", or "timeout".
package harness

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/reference"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
)

// Landing is where a flow is expected to end up.
type Landing int

const (
	_ Landing = iota
	// Proxy: the stand-in proxy of the flow's direction answered (proxy-in
	// for inbound flows, proxy-out for everything the pod sends), reporting
	// the dialled address as the original destination.
	Proxy
	// Direct: the listener at the dialled address answered; no redirection.
	Direct
	// Refused: nothing listens where the connection went (and it was not
	// redirected to a proxy, which would have answered).
	Refused
	// Timeout: the connection was dropped.
	Timeout
)

func (l Landing) String() string {
	switch l {
	case Proxy:
		return "proxy"
	case Direct:
		return "direct"
	case Refused:
		return "refused"
	case Timeout:
		return "timeout"
	}
	return "unset"
}

// Kind is the direction of a flow, which fixes where it is dialled from and to.
type Kind int

const (
	// Inbound: from the peer to the pod's address (PREROUTING).
	Inbound Kind = iota
	// Outbound: from the pod to the peer's address (OUTPUT, leaves via eth0).
	Outbound
	// Loopback: from the pod to 127.0.0.1 or ::1 (OUTPUT, leaves via lo).
	Loopback
	// OwnAddr: from the pod to its own eth0 address, which the kernel
	// routes through lo as well.
	OwnAddr
)

func (k Kind) String() string {
	return [...]string{"peer->pod", "pod->peer", "pod->lo", "pod->self"}[k]
}

// Ids used by flows. The application runs as appUID/appGID unless a flow
// says otherwise; the proxy ids are what the configurations exempt.
const (
	AppUID   = 1000
	AppGID   = 1000
	ProxyUID = 2102
	ProxyGID = 2103
)

// Listener names the topology answers with.
const (
	proxyIn  = "proxy-in"
	proxyOut = "proxy-out"
	appName  = "app"
	peerName = "peer"
)

// Flow is one connection and where it should land.
type Flow struct {
	Kind Kind
	IPv6 bool
	Port uint16
	// UID and GID the pod-side client runs as (Outbound, Loopback, OwnAddr).
	// Inbound clients run as root in the peer: ids there match nothing.
	UID, GID uint32
	Want     Landing
	// RefWant, when set, is where the reference lands instead of Want: a
	// known, explained difference (RefWhy) that is checked like any other
	// expectation, so it cannot silently come or go.
	RefWant Landing
	RefWhy  string
	// Note says why the flow is there ("range first", "no listener").
	Note string
	// Alt sends an Outbound flow to the peer's address on the second link
	// that AddAltLink makes, instead of through eth0.
	Alt bool
}

// Dst is the address the flow dials in tp.
func (f Flow) Dst(tp *topology.Topology) netip.AddrPort {
	var a netip.Addr
	switch f.Kind {
	case Inbound, OwnAddr:
		a = pick(f.IPv6, tp.PodAddr4, tp.PodAddr6)
	case Outbound:
		a = pick(f.IPv6, tp.PeerAddr4, tp.PeerAddr6)
		if f.Alt {
			a = pick(f.IPv6, AltPeerAddr4, AltPeerAddr6)
		}
	case Loopback:
		a = pick(f.IPv6, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
	}
	return netip.AddrPortFrom(a, f.Port)
}

func pick(v6 bool, a4, a6 netip.Addr) netip.Addr {
	if v6 {
		return a6
	}
	return a4
}

// from is the namespace the flow is dialled from.
func (f Flow) from() topology.NS {
	if f.Kind == Inbound {
		return topology.Peer
	}
	return topology.Pod
}

// Label names the flow in the matrix: direction, address, non-default ids
// and the note. The address is the same in every topology.
func (f Flow) Label(tp *topology.Topology) string {
	s := f.Kind.String() + " " + f.Dst(tp).String()
	if f.Kind != Inbound {
		if f.UID != AppUID {
			s += " uid=" + strconv.Itoa(int(f.UID))
		}
		if f.GID != AppGID {
			s += " gid=" + strconv.Itoa(int(f.GID))
		}
	}
	if f.Note != "" {
		s += " (" + f.Note + ")"
	}
	return s
}

// Outcome is what the client should see when the flow lands at l: a
// redirected or direct connection is answered with the dialled address as
// the original destination, since REDIRECT keeps it for SO_ORIGINAL_DST and
// a direct connection's local address is the dialled one.
func (f Flow) Outcome(tp *topology.Topology, l Landing) topology.Outcome {
	dst := f.Dst(tp)
	switch l {
	case Proxy:
		if f.Kind == Inbound {
			return topology.Answer(proxyIn, dst)
		}
		return topology.Answer(proxyOut, dst)
	case Direct:
		if f.Kind == Outbound {
			return topology.Answer(peerName, dst)
		}
		return topology.Answer(appName, dst)
	case Refused:
		return topology.Refused
	case Timeout:
		return topology.TimedOut
	}
	return topology.Outcome{Result: "no expectation written"}
}

// podSide reports whether the flow's destination port is served in the pod
// (as opposed to the peer).
func (f Flow) podSide() bool { return f.Kind != Outbound }

// Installer says how our rules are installed.
type Installer int

const (
	// Library: nat.Plan and nat.Client.Apply in-process, as a program
	// embedding the library would.
	Library Installer = iota
	// Binary: the proxy-init command built from cmd/proxy-init, run with
	// --netns and upstream's flags, once per step.
	Binary
)

// Case is one configuration (or sequence of configurations) and its flows.
type Case struct {
	Name string
	// Steps are applied in order to each side's fresh pod: one step is a
	// plain install, the same config twice is a re-run, two different ones
	// a reconfiguration. The flows run after the last step.
	Steps []nat.Config
	Via   Installer
	// OursOnly, when set, says why upstream cannot express the case; the
	// reference is then not run and ours is checked against Want alone.
	OursOnly string
	// Mutate alters our plan of every step before it is applied (Library
	// only). It exists to prove that the harness notices a broken rule.
	Mutate func(*nat.Ruleset) error
	// Setup, when set, changes each side's topology before anything is
	// installed (it runs on the test goroutine).
	Setup func(*topology.Topology) error
	Flows []Flow
}

// TestName is the subtest name: ours-only cases say so.
func (c Case) TestName() string {
	if c.OursOnly != "" {
		return "ours-only/" + c.Name
	}
	return c.Name
}

// Row is one line of the matrix.
type Row struct {
	Case, Flow string
	// Dst is the address the flow dialled.
	Dst netip.AddrPort
	// Ref is the reference's outcome, "" when the case is ours-only;
	// OursOnly then says why.
	Ref, Ours, Want string
	OursOnly        string
	// RefWant is set when the reference is expected to land elsewhere.
	RefWant, RefWhy string
	OK              bool
	// Problem says what is wrong when !OK.
	Problem string
}

// Dial timeouts. No flow expects a timeout, so a timeout only happens when
// something is broken; the short first try keeps a broken run fast, and the
// longer second try keeps a connection that was merely slow on a loaded
// 2-core machine from being reported as dropped.
const (
	firstTimeout = 500 * time.Millisecond
	retryTimeout = 2 * time.Second
)

// installTimeout bounds one install step (a dozen iptables-nft execs per
// family on the reference side).
const installTimeout = 60 * time.Second

// Run runs every case as a parallel subtest of t, each side of a case in its
// own topology, and returns the rows of all cases in table order once they
// have all finished. check is called in each case's subtest with its rows and
// decides what counts as a failure.
func Run(t *testing.T, cases []Case, check func(t *testing.T, c Case, rows []Row)) []Row {
	t.Helper()
	results := make([][]Row, len(cases))
	// The group returns only when all its parallel subtests are done.
	t.Run("cases", func(t *testing.T) {
		for i, c := range cases {
			t.Run(c.TestName(), func(t *testing.T) {
				t.Parallel()
				results[i] = runCase(t, c)
				check(t, c, results[i])
			})
		}
	})
	var rows []Row
	for _, r := range results {
		rows = append(rows, r...)
	}
	return rows
}

// side is one installation of a case and what its flows saw.
type side struct {
	name     string
	tp       *topology.Topology
	install  func(ctx context.Context, tp *topology.Topology, cfg nat.Config) error
	err      error
	outcomes []topology.Outcome
}

func runCase(t *testing.T, c Case) []Row {
	if len(c.Steps) == 0 || len(c.Flows) == 0 {
		t.Fatalf("case %s has no steps or no flows", c.Name)
	}
	pod, peer := listenerPorts(t, c)

	ours := &side{name: "ours"}
	switch c.Via {
	case Library:
		ours.install = func(_ context.Context, tp *topology.Topology, cfg nat.Config) error {
			return applyLibrary(tp, cfg, c.Mutate)
		}
	case Binary:
		if c.Mutate != nil {
			t.Fatalf("case %s: Mutate works on the library only", c.Name)
		}
		bin := proxyInitBinary(t)
		ours.install = func(ctx context.Context, tp *topology.Topology, cfg nat.Config) error {
			return applyBinary(ctx, bin, tp, cfg)
		}
	}
	sides := []*side{ours}
	var ref *side
	if c.OursOnly == "" {
		ref = &side{name: "reference", install: func(ctx context.Context, tp *topology.Topology, cfg nat.Config) error {
			return reference.Install(ctx, tp.PodName(), cfg)
		}}
		sides = append(sides, ref)
	}

	// Topologies and listeners are made on the test goroutine (they may
	// call t.Fatal); the listeners accept as soon as Listen returns, so the
	// flows below never race a listener that is not ready.
	last := c.Steps[len(c.Steps)-1]
	for _, s := range sides {
		s.tp = topology.New(t)
		if c.Setup != nil {
			if err := c.Setup(s.tp); err != nil {
				t.Fatalf("setup: %v", err)
			}
		}
		s.tp.ListenProxy(proxyIn, last.InboundProxyPort)
		s.tp.ListenProxy(proxyOut, last.OutboundProxyPort)
		for _, p := range pod {
			s.tp.Listen(topology.Pod, appName, p)
		}
		for _, p := range peer {
			s.tp.Listen(topology.Peer, peerName, p)
		}
	}

	// The two sides share nothing, so they install and dial concurrently:
	// most of the time goes to waiting for iptables-nft processes.
	var wg sync.WaitGroup
	for _, s := range sides {
		wg.Go(func() { s.run(t.Context(), c) })
	}
	wg.Wait()
	for _, s := range sides {
		if s.err != nil {
			t.Errorf("%s: install: %v", s.name, s.err)
		}
	}

	rows := make([]Row, len(c.Flows))
	for i, f := range c.Flows {
		r := Row{
			Case:     c.TestName(),
			OursOnly: c.OursOnly,
			Flow:     f.Label(ours.tp),
			Dst:      f.Dst(ours.tp),
			Ours:     ours.outcome(i),
			Want:     f.Outcome(ours.tp, f.Want).String(),
		}
		if c.Via == Binary {
			r.Case += " [bin]"
		}
		refWant := r.Want
		if f.RefWant != 0 {
			refWant = f.Outcome(ours.tp, f.RefWant).String()
			r.RefWant, r.RefWhy = refWant, f.RefWhy
		}
		var problems []string
		if r.Ours != r.Want {
			problems = append(problems, "ours differs from expected")
		}
		if ref != nil {
			r.Ref = ref.outcome(i)
			if r.Ref != refWant {
				problems = append(problems, "reference differs from expected")
			}
			if f.RefWant == 0 && r.Ref != r.Ours {
				problems = append(problems, "ours differs from reference")
			}
		}
		r.OK = len(problems) == 0
		r.Problem = strings.Join(problems, "; ")
		rows[i] = r
	}
	return rows
}

// run installs every step and then dials every flow. It never calls t: it
// runs on its own goroutine.
func (s *side) run(ctx context.Context, c Case) {
	for i, cfg := range c.Steps {
		ictx, cancel := context.WithTimeout(ctx, installTimeout)
		err := s.install(ictx, s.tp, cfg)
		cancel()
		if err != nil {
			s.err = fmt.Errorf("step %d of %d: %w", i+1, len(c.Steps), err)
			return
		}
	}
	s.outcomes = make([]topology.Outcome, len(c.Flows))
	for i, f := range c.Flows {
		s.outcomes[i] = dial(s.tp, f)
	}
}

func (s *side) outcome(i int) string {
	if s.err != nil {
		return "install failed"
	}
	return s.outcomes[i].String()
}

func dial(tp *topology.Topology, f Flow) topology.Outcome {
	opts := topology.DialOptions{Dst: f.Dst(tp), Timeout: firstTimeout}
	if f.Kind != Inbound {
		opts.UID, opts.GID = f.UID, f.GID
	}
	o := tp.Dial(f.from(), opts)
	if o == topology.TimedOut {
		opts.Timeout = retryTimeout
		o = tp.Dial(f.from(), opts)
	}
	return o
}

// listenerPorts derives the application listeners from the flows: a port
// gets a listener where a flow goes unless a flow to the same side expects
// "refused" there. Flows expected at the proxy get a listener behind them
// too, so that a missing redirect shows up as "app ..." rather than as a
// bare refusal. Proxy ports never get an application listener.
func listenerPorts(t *testing.T, c Case) (pod, peer []uint16) {
	t.Helper()
	last := c.Steps[len(c.Steps)-1]
	type key struct {
		pod  bool
		port uint16
	}
	refused := map[key]bool{}
	for _, f := range c.Flows {
		if f.Want == Refused || f.RefWant == Refused {
			refused[key{f.podSide(), f.Port}] = true
		}
	}
	seen := map[key]bool{}
	for _, f := range c.Flows {
		k := key{f.podSide(), f.Port}
		needs := f.Want == Direct || f.RefWant == Direct
		if refused[k] {
			if needs {
				t.Fatalf("case %s: flow %v expects a listener on port %d that another flow expects to be refused", c.Name, f, f.Port)
			}
			continue
		}
		if k.pod && (f.Port == last.InboundProxyPort || f.Port == last.OutboundProxyPort) {
			continue
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		if k.pod {
			pod = append(pod, f.Port)
		} else {
			peer = append(peer, f.Port)
		}
	}
	return pod, peer
}

// applyLibrary installs our plan with a client of its own, as a separate
// run of proxy-init would.
func applyLibrary(tp *topology.Topology, cfg nat.Config, mutate func(*nat.Ruleset) error) error {
	plan, err := nat.Plan(cfg)
	if err != nil {
		return err
	}
	if mutate != nil {
		if err := mutate(plan); err != nil {
			return err
		}
	}
	client, err := nat.NewClient(nat.Options{NetNSFD: tp.PodFD()})
	if err != nil {
		return err
	}
	defer client.Close()
	_, err = client.Apply(plan)
	return err
}

func applyBinary(ctx context.Context, bin string, tp *topology.Topology, cfg nat.Config) error {
	args := append([]string{"--netns", tp.PodPath()}, Args(cfg)...)
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, out)
	}
	return nil
}

// Args turns a configuration into proxy-init's (upstream's) flags.
func Args(c nat.Config) []string {
	a := []string{
		"--incoming-proxy-port=" + strconv.Itoa(int(c.InboundProxyPort)),
		"--outgoing-proxy-port=" + strconv.Itoa(int(c.OutboundProxyPort)),
		// The = form: a separate "-1" could be read as a flag.
		"--proxy-uid=" + strconv.FormatInt(c.ProxyUID, 10),
		"--proxy-gid=" + strconv.FormatInt(c.ProxyGID, 10),
		"--ipv6=" + strconv.FormatBool(c.IPv6),
	}
	ports := func(flag string, rs []nat.PortRange) {
		if len(rs) == 0 {
			return
		}
		s := make([]string, len(rs))
		for i, r := range rs {
			s[i] = r.String()
		}
		a = append(a, flag+"="+strings.Join(s, ","))
	}
	prefixes := func(flag string, ps []netip.Prefix) {
		if len(ps) == 0 {
			return
		}
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.String()
		}
		a = append(a, flag+"="+strings.Join(s, ","))
	}
	ports("--ports-to-redirect", c.PortsToRedirect)
	ports("--inbound-ports-to-ignore", c.InboundPortsToIgnore)
	ports("--outbound-ports-to-ignore", c.OutboundPortsToIgnore)
	prefixes("--subnets-to-ignore", c.InboundSubnetsToIgnore)
	prefixes("--outbound-subnets-to-ignore", c.OutboundSubnetsToIgnore)
	return a
}

// The proxy-init binary is built once per test process, from the working
// tree, so the harness never runs a stale bin/proxy-init.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func proxyInitBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "proxy-init-harness-")
		if buildErr != nil {
			return
		}
		buildBin, buildErr = testns.BuildProxyInit(buildDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// Cleanup removes the binary built for the harness; TestMain calls it.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// DropRule removes the rule called name from chain in every table of rs and
// fails if some table has no such rule, so a renamed rule cannot make a
// "broken rule" test pass vacuously.
func DropRule(rs *nat.Ruleset, chain, name string) error {
	for _, tbl := range rs.Tables {
		ch := tbl.Chain(chain)
		if ch == nil {
			return fmt.Errorf("table %s %s has no chain %s", tbl.Family, tbl.Name, chain)
		}
		kept := ch.Rules[:0:0]
		for _, r := range ch.Rules {
			if r.Name != name {
				kept = append(kept, r)
			}
		}
		if len(kept) == len(ch.Rules) {
			return fmt.Errorf("table %s %s chain %s has no rule %q", tbl.Family, tbl.Name, chain, name)
		}
		ch.Rules = kept
	}
	if len(rs.Tables) == 0 {
		return errors.New("plan has no tables")
	}
	return nil
}

package harness

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxy-init/netlink-native/internal/reference"
	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
)

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
	install  func(ctx context.Context, tp *topology.Topology, step int, cfg nat.Config) error
	err      error
	outcomes []topology.Outcome
}

func runCase(t *testing.T, c Case) []Row {
	if len(c.Flows) == 0 || (len(c.Steps) == 0 && !c.NoRules) || (c.NoRules && len(c.Steps) > 0) {
		t.Fatalf("case %s: want flows, and steps unless NoRules (and then none)", c.Name)
	}
	if c.Argv != nil && (c.Via != Binary || len(c.Argv) != len(c.Steps)) {
		t.Fatalf("case %s: Argv needs Via Binary and one argument list per step", c.Name)
	}
	pod, peer := listenerPorts(t, c)

	ours := &side{name: "ours"}
	switch c.Via {
	case Library:
		ours.install = func(_ context.Context, tp *topology.Topology, _ int, cfg nat.Config) error {
			return applyLibrary(tp, cfg, c.Mutate)
		}
	case Binary:
		if c.Mutate != nil {
			t.Fatalf("case %s: Mutate works on the library only", c.Name)
		}
		bin := proxyInitBinary(t)
		ours.install = func(ctx context.Context, tp *topology.Topology, step int, cfg nat.Config) error {
			args := Args(cfg)
			if c.Argv != nil {
				args = c.Argv[step]
			}
			return applyBinary(ctx, bin, tp, args)
		}
	}
	sides := []*side{ours}
	var ref *side
	if c.OursOnly == "" {
		ref = &side{name: "reference", install: func(ctx context.Context, tp *topology.Topology, _ int, cfg nat.Config) error {
			return reference.Install(ctx, tp.PodPath(), cfg)
		}}
		sides = append(sides, ref)
	}

	// Topologies and listeners are made on the test goroutine (they may
	// call t.Fatal); the listeners accept as soon as Listen returns, so the
	// flows below never race a listener that is not ready.
	names := c.proxyNames()
	for _, s := range sides {
		s.tp = topology.New(t)
		if c.Setup != nil {
			if err := c.Setup(s.tp); err != nil {
				t.Fatalf("setup: %v", err)
			}
		}
		if last, ok := c.last(); ok {
			s.tp.ListenProxy(names[0], last.InboundProxyPort)
			if names[1] != names[0] {
				s.tp.ListenProxy(names[1], last.OutboundProxyPort)
			}
		}
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
			Want:     f.outcome(ours.tp, f.Want, names).String(),
		}
		if c.Via == Binary {
			r.Case += " [bin]"
		}
		refWant := r.Want
		if f.RefWant != 0 {
			refWant = f.outcome(ours.tp, f.RefWant, names).String()
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
		err := s.install(ictx, s.tp, i, cfg)
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
	last, _ := c.last()
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
		if k.pod && !c.NoRules && (f.Port == last.InboundProxyPort || f.Port == last.OutboundProxyPort) {
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

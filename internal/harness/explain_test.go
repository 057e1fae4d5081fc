package harness

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/explain"
	"github.com/proxy-init/netlink-native/nat/pod"
)

// TestExplainAgreesWithConnections is explain's agreement test: every flow
// of the matrix is both explained (explain.Explain over the rules read back
// from the pod's namespace, and over the plan of the last step, as
// --simulate does; and as explain without --oif does, through pod.Inspect
// with the flow, which looks up the output interface in the pod's routing
// and must find the device ip route get names) and actually sent, and the
// two must agree on every flow:
// redirected to the proxy that answered, with the original destination it
// read; or not redirected, and answered by the dialled listener or refused.
// The rules are read as explain reads them, through pod.Inspect.
// The reference side is not run: it is the matrix's business, and explain
// is checked against the kernel alone. The matrix's broken-rule case is in
// too, so explain of the live rules is seen to follow what is installed
// rather than what was configured, and so are upstream's scenarios
// (including a pod without rules and one proxy port for both directions).
func TestExplainAgreesWithConnections(t *testing.T) {
	cases := append(matrixCases(), upstreamCases()...)
	broken := redirectAll()
	broken.Name = "redirect-all without ignore-loopback"
	broken.Mutate = func(rs *nat.Ruleset) error { return DropRule(rs, nat.ChainOutput, "ignore-loopback") }
	cases = append(cases, broken)

	var mu sync.Mutex
	pods := map[string]*topology.Topology{}
	for i := range cases {
		c := &cases[i]
		if c.OursOnly == "" {
			c.OursOnly = "explain is compared with our connections only"
		}
		setup, name := c.Setup, c.TestName()
		c.Setup = func(tp *topology.Topology) error {
			mu.Lock()
			pods[name] = tp
			mu.Unlock()
			if setup != nil {
				return setup(tp)
			}
			return nil
		}
	}

	// ownAddr counts the outbound flows to one of the pod's own (not
	// loopback) addresses: those only the route lookup gets right.
	explained, disagreed, ownAddr := 0, 0, 0
	var report strings.Builder
	Run(t, cases, func(t *testing.T, c Case, rows []Row) {
		mu.Lock()
		tp := pods[c.TestName()]
		mu.Unlock()
		last, configured := c.last()
		if !configured {
			last = nat.DefaultConfig() // compared with, never installed
		}
		// The namespace still exists: topologies are removed when the
		// case's subtest ends, after this check.
		rep, err := pod.Inspect(context.Background(), pod.AtPath(tp.PodPath()), last, nil)
		if err != nil {
			t.Fatalf("inspect: %v", err)
		}
		// What explain prints before the path: the live rules differ
		// from the configuration exactly when the case broke them.
		if configured && !rep.Changes.Empty() != (c.Mutate != nil) {
			t.Errorf("live rules differ from the last step's configuration: %q (mutated case: %v)", rep.Changes, c.Mutate != nil)
		}
		plan, err := nat.Plan(last)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range c.Flows {
			flow := explainFlow(t, tp, f)
			// As explain runs without --oif: pod.Inspect asks the pod's
			// routing itself, and must find what ip route get found.
			asked := flow
			asked.OIF = ""
			routed, err := pod.Inspect(context.Background(), pod.AtPath(tp.PodPath()), last, &asked)
			if err != nil {
				t.Fatalf("%s: inspect with the flow: %v", rows[i].Flow, err)
			}
			if f.Kind != Inbound && (routed.Flow.Route == nil || routed.Flow.Route.OIF != flow.OIF) {
				t.Errorf("%s: the route lookup found %+v; ip route get says dev %s", rows[i].Flow, routed.Flow.Route, flow.OIF)
			}
			if r := routed.Flow.Route; r != nil && r.Type == "local" && !r.Dst.IsLoopback() {
				mu.Lock()
				ownAddr++
				mu.Unlock()
			}
			type source struct {
				name string
				tr   func() (*explain.Trace, error)
			}
			explainOf := func(rs *nat.Ruleset) func() (*explain.Trace, error) {
				return func() (*explain.Trace, error) { return explain.Explain(rs, flow) }
			}
			sources := []source{
				{"live", explainOf(rep.Live)},
				{"live, oif from the route lookup", func() (*explain.Trace, error) { return routed.Trace, nil }},
			}
			if c.Mutate == nil && configured {
				sources = append(sources, source{"plan", explainOf(plan)})
			}
			for _, src := range sources {
				tr, err := src.tr()
				if err != nil {
					t.Fatalf("%s: explain: %v", rows[i].Flow, err)
				}
				mu.Lock()
				explained++
				mu.Unlock()
				if ok, want := agrees(tp, f, c, tr, rows[i].Ours); !ok {
					mu.Lock()
					disagreed++
					fmt.Fprintf(&report, "%s | %s: explain (%s) says %s, the connection got %q\n", c.Name, rows[i].Flow, src.name, want, rows[i].Ours)
					mu.Unlock()
					t.Errorf("%s: explain of the %s rules says %s (decided by %s), but the connection got %q\npath: %+v", rows[i].Flow, src.name, want, tr.DecidedBy, rows[i].Ours, tr.Path)
				}
			}
		}
	})
	flows := 0
	for _, c := range cases {
		flows += len(c.Flows)
	}
	t.Logf("%d flows in %d configurations, %d explanations, %d disagreed; %d outbound to the pod's own address\n%s", flows, len(cases), explained, disagreed, ownAddr, report.String())
	if ownAddr == 0 {
		t.Error("no outbound flow to the pod's own address: the route lookup's point is not tested")
	}
	if explained < 2*flows {
		t.Errorf("explained %d times for %d flows, want at least twice each (live with --oif, live with the route looked up)", explained, flows)
	}
}

// explainFlow describes the harness flow as explain takes it: the source and
// destination in the topology, the pod-side client's ids, and the output
// interface the pod's routing picks for the destination (so that the
// pod's own address and the alternative link are what the kernel says).
func explainFlow(t *testing.T, tp *topology.Topology, f Flow) explain.Flow {
	t.Helper()
	dst := f.Dst(tp)
	fl := explain.Flow{Direction: explain.Outbound, Dst: dst, UID: int64(f.UID), GID: int64(f.GID)}
	if f.Kind == Inbound {
		fl = explain.Flow{Direction: explain.Inbound, Dst: dst, UID: nat.NoID, GID: nat.NoID,
			Src: netip.AddrPortFrom(pick(f.IPv6, tp.PeerAddr4, tp.PeerAddr6), 0)}
		return fl
	}
	out, err := tp.Run(topology.Pod, "ip", "-o", "route", "get", dst.Addr().String())
	if err != nil {
		t.Fatalf("route lookup for %s: %v", dst, err)
	}
	fields := strings.Fields(out)
	for i, w := range fields {
		if w == "dev" && i+1 < len(fields) {
			fl.OIF = fields[i+1]
		}
	}
	if fl.OIF == "" {
		t.Fatalf("route lookup for %s names no device: %q", dst, out)
	}
	return fl
}

// agrees reports whether the explanation matches what the connection got,
// and what the explanation predicts, for the message.
func agrees(tp *topology.Topology, f Flow, c Case, tr *explain.Trace, got string) (bool, string) {
	last, _ := c.last()
	names := c.proxyNames()
	if !tr.Redirected() {
		// Not redirected: whatever listens at the dialled address answers,
		// which is a proxy when the pod's proxy port itself was dialled.
		direct := f.Outcome(tp, Direct).String()
		switch {
		case f.podSide() && f.Port == last.InboundProxyPort && len(c.Steps) > 0:
			direct = topology.Answer(names[0], f.Dst(tp)).String()
		case f.podSide() && f.Port == last.OutboundProxyPort && len(c.Steps) > 0:
			direct = topology.Answer(names[1], f.Dst(tp)).String()
		}
		return got == direct || got == topology.Refused.String(), "not redirected (" + direct + " or refused)"
	}
	var name string
	switch tr.Port {
	case last.InboundProxyPort:
		name = names[0]
	case last.OutboundProxyPort:
		name = names[1]
	default:
		return false, fmt.Sprintf("redirected to port %d, where no proxy listens", tr.Port)
	}
	orig, err := netip.ParseAddrPort(tr.OriginalDst)
	if err != nil {
		return false, "redirected with original destination " + tr.OriginalDst
	}
	want := topology.Answer(name, orig).String()
	return got == want, fmt.Sprintf("redirected to :%d, answered %q", tr.Port, want)
}

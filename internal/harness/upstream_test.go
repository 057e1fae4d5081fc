package harness

import (
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/nat"
)

// Upstream's own integration scenarios (linkerd2-proxy-init
// proxy-init/integration/iptables: iptablestest-lab.yaml and http_test.go),
// written here from reading them. Every pod there runs proxy-init with
// -p 8080 -o 8080 -u 2102 -g 2102 --ipv6=false: one proxy port for both
// directions, so one stand-in proxy answers both ("proxy"). Upstream's
// test containers run as root unless they are the proxy (uid 2102), so the
// application's flows here run as uid 0.
//
// Each scenario runs against the iptables-nft reference and against ours
// twice: through the library, and through the binary given upstream's
// arguments verbatim. Their "via a service" checks need kube-proxy and have
// no counterpart in a pod/peer pair; everything else is here.

// upstreamArgs is the argument list of upstream's manifests, with extra
// between the common flags and --ipv6=false, where the manifests put them.
func upstreamArgs(extra ...string) []string {
	args := []string{"-p", "8080", "-o", "8080", "-u", "2102", "-g", "2102"}
	return append(append(args, extra...), "--ipv6=false")
}

// upstreamConfig is what upstreamArgs means, changed by edit.
func upstreamConfig(edit func(*nat.Config)) nat.Config {
	c := nat.Config{InboundProxyPort: 8080, OutboundProxyPort: 8080, ProxyUID: 2102, ProxyGID: 2102}
	if edit != nil {
		edit(&c)
	}
	return c
}

// v4 keeps the IPv4 flows: the scenarios run with --ipv6=false.
func v4(fs []Flow) []Flow {
	var out []Flow
	for _, f := range fs {
		if !f.IPv6 {
			out = append(out, f)
		}
	}
	return out
}

// root is the id of upstream's application containers.
func root() opt { return as(0, 0) }

type upstreamScenario struct {
	pod   string // the pod's name in upstream's manifest
	extra []string
	edit  func(*nat.Config)
	runs  int // how many times proxy-init runs (the manifest's init containers)
	flows []Flow
}

func upstreamScenarios() []upstreamScenario {
	return []upstreamScenario{
		{
			pod: "pod-redirects-all-ports", runs: 1,
			flows: v4(flows(
				in(8080, Proxy, note("the proxy's own port")),
				in(8088, Proxy), in(8888, Proxy), in(8988, Proxy),
				in(9090, Proxy, note("the other container's port")),
			)),
		},
		{
			pod: "pod-redirects-whitelisted", runs: 1,
			extra: []string{"-r", "9090", "-r", "9099"},
			edit:  func(c *nat.Config) { c.PortsToRedirect = ports("9090,9099") },
			flows: v4(flows(
				in(8080, Proxy, note("the proxy's own port, reached directly")),
				in(9090, Proxy), in(9099, Proxy),
				in(8088, Refused, note("not listed")), in(8888, Refused, note("not listed")), in(8988, Refused, note("not listed")),
			)),
		},
		{
			pod: "pod-doesnt-redirect-blacklisted", runs: 1,
			extra: []string{"--inbound-ports-to-ignore", "6000-8000"},
			edit:  func(c *nat.Config) { c.InboundPortsToIgnore = ports("6000-8000") },
			flows: v4(flows(
				in(8080, Proxy), in(9090, Proxy), in(9099, Proxy),
				in(7070, Direct, note("ignored: the container answers")),
				in(6000, Direct, note("range first")), in(8000, Direct, note("range last")),
				// TestPodMakesOutboundConnection, from this pod.
				out(7070, Proxy, root(), note("app to another pod: to the proxy")),
				out(9090, Direct, as(ProxyUID, 0), note("the proxy's uid to another pod")),
				out(9090, Direct, as(AppUID, 2102), note("the proxy's gid")),
				lo(9090, Direct, root(), note("app to loopback")),
			)),
		},
		{
			pod: "pod-ignores-subnets", runs: 1,
			extra: []string{"--subnets-to-ignore", "0.0.0.0/0"},
			edit:  func(c *nat.Config) { c.InboundSubnetsToIgnore = prefixes("0.0.0.0/0") },
			flows: v4(flows(
				in(9090, Direct, note("every source ignored: the container answers")),
				in(8080, Proxy, note("the proxy's own port")),
			)),
		},
		{
			// Two init containers with the same arguments: proxy-init run
			// twice on one pod.
			pod: "pod-with-existing-rules", runs: 2,
			flows: v4(flows(
				in(9090, Proxy), in(8080, Proxy),
				out(80, Proxy, root()), out(80, Direct, as(ProxyUID, 0)),
				lo(9090, Direct, root()),
			)),
		},
	}
}

// upstreamCases are the scenarios as matrix cases: the baseline pod
// without proxy-init, then each scenario through the library and through
// the binary.
func upstreamCases() []Case {
	cases := []Case{{
		Name:    "upstream/pod-with-no-rules",
		NoRules: true,
		Flows: v4(flows(
			in(8080, Direct), in(8088, Refused), in(8888, Refused), in(8988, Refused),
		)),
	}}
	for _, s := range upstreamScenarios() {
		var steps []nat.Config
		var argv [][]string
		for range s.runs {
			steps = append(steps, upstreamConfig(s.edit))
			argv = append(argv, upstreamArgs(s.extra...))
		}
		cases = append(cases,
			Case{Name: "upstream/" + s.pod, Steps: steps, Flows: s.flows},
			Case{Name: "upstream/" + s.pod + "-binary", Via: Binary, Steps: steps, Argv: argv, Flows: s.flows},
		)
	}
	return cases
}

// TestMatrixUpstreamScenarios runs upstream's integration scenarios on
// ours (library and binary) and on the reference; every flow must land
// where upstream's tests say, on both sides.
func TestMatrixUpstreamScenarios(t *testing.T) {
	checkAddresses(t)
	cases := upstreamCases()
	rows := Run(t, cases, failBadRows)
	for _, r := range rows {
		if r.Ref == "" && !strings.Contains(r.Case, "no-rules") {
			t.Errorf("%s %s: the reference did not run", r.Case, r.Flow)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("upstream's scenarios, %d configurations\n%s", len(cases), Format(rows))
	}
}

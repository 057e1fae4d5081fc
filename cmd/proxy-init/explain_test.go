package main

import (
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/linediff"
	"github.com/proxy-init/netlink-native/internal/testns"
	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
	"github.com/proxy-init/netlink-native/nat/explain"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the generated blocks of docs/explain.md")

// runHere runs the command in this process: for --simulate and bad input,
// which never reach the kernel.
func TestExplainSimulateText(t *testing.T) {
	r := runBinary(t, "explain", "--simulate", "--inbound", "--from", "10.1.2.3:5555", "--to", "192.0.2.2:8080",
		"--subnets-to-ignore", "10.0.0.0/8", "--inbound-ports-to-ignore", "4190")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"inbound TCP 10.1.2.3:5555 -> 192.0.2.2:8080, table ip proxy_init (--simulate: the plan of these flags):",
		"  PREROUTING[0] proxy-init/install-proxy-init-prerouting: MATCH\n",
		"    PROXY_INIT_REDIRECT[0] proxy-init/ignore-port: no match\n",
		"because destination port 8080 is not in @inbound_ports_ignore { 4190 }",
		"    PROXY_INIT_REDIRECT[1] proxy-init/ignore-subnet: MATCH\n",
		"result: not redirected (accept), by proxy-init/ignore-subnet; the connection goes to 192.0.2.2:8080 itself\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runBinary(t, "explain", "--simulate", "--outbound", "--to", "[2001:db8::1]:443", "--as-uid", "1000", "--oif", "eth0")
	if r.code != 0 || !strings.Contains(r.stdout, "result: redirected to :4140 by proxy-init/redirect-all-outgoing-to-proxy-port; the proxy sees the original destination [2001:db8::1]:443 (SO_ORIGINAL_DST)") {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// The JSON keys docs/explain.md documents.
func TestExplainSimulateJSON(t *testing.T) {
	r := runBinary(t, "explain", "--simulate", "--outbound", "--to", "192.0.2.1:80", "--as-uid", "2102", "--output", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got struct {
		Verdict   string `json:"verdict"`
		Port      *int   `json:"port"`
		DecidedBy string `json:"decided_by"`
		Source    string `json:"source"`
		Notes     []string
		Path      []struct {
			Chain   string `json:"chain"`
			Comment string `json:"comment"`
			Matched bool   `json:"matched"`
		} `json:"path"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if got.Verdict != "accept" || got.Port != nil || got.DecidedBy != "proxy-init/ignore-proxy-user-id" || got.Source != "plan" ||
		len(got.Path) != 2 || got.Path[1].Chain != nat.ChainOutput || !got.Path[1].Matched || got.Path[0].Comment != "proxy-init/install-proxy-init-output" {
		t.Fatalf("json:\n%s", r.stdout)
	}
	r = runBinary(t, "explain", "--simulate", "--inbound", "--to", "192.0.2.2:22", "-r", "80", "--output", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"decided_by": "policy"`) || !strings.Contains(r.stdout, `"verdict": "accept"`) {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// Bad explain input: exit 2, one line naming the flag.
func TestExplainBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--to", "192.0.2.2:80"}, "--inbound/--outbound"},
		{[]string{"--inbound", "--outbound", "--to", "192.0.2.2:80"}, "--inbound/--outbound"},
		{[]string{"--inbound"}, "--to"},
		{[]string{"--inbound", "--to", "192.0.2.2"}, "--to"},
		{[]string{"--inbound", "--to", "192.0.2.2:0"}, "--to"},
		{[]string{"--inbound", "--to", "host:80"}, "--to"},
		{[]string{"--inbound", "--to", "[::ffff:192.0.2.2]:80"}, "--to"},
		{[]string{"--inbound", "--to", "192.0.2.2:80", "--from", "2001:db8::1"}, "--from"},
		{[]string{"--inbound", "--to", "192.0.2.2:80", "--from", "nowhere"}, "--from"},
		{[]string{"--inbound", "--to", "[2001:db8::2]:80", "--from", "::ffff:192.0.2.1"}, "for --from"},
		{[]string{"--inbound", "--to", "[2001:db8::2]:80", "--from", "[::ffff:192.0.2.1]:5"}, "for --from"},
		{[]string{"--inbound", "--to", "192.0.2.2:80", "--as-uid", "1000"}, "--as-uid"},
		{[]string{"--inbound", "--to", "192.0.2.2:80", "--oif", "eth0"}, "--oif"},
		{[]string{"--outbound", "--to", "192.0.2.2:80", "--as-gid", "-2"}, "--as-gid"},
		{[]string{"--outbound", "--to", "192.0.2.2:80", "--oif", "a-very-long-interface"}, "--oif"},
		{[]string{"--outbound", "--to", "192.0.2.2:80", "--output", "yaml"}, "--output"},
		{[]string{"--outbound", "--to", "192.0.2.2:80", "--format", "png"}, "--format"},
		{[]string{"--outbound", "--to", "192.0.2.2:80", "--format", "dot", "--output", "json"}, "--output"},
	} {
		args := append([]string{"explain", "--simulate"}, tc.args...)
		r := runBinary(t, args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.flag) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line naming %s", args, r.code, r.stderr, tc.flag)
		}
	}
	// explain's flags mean nothing to other commands, and show takes only
	// --format from them.
	for _, args := range [][]string{
		{"--simulate", "--inbound"},
		{"apply", "--simulate", "--to", "192.0.2.2:80"},
		{"apply", "--simulate", "--format", "dot"},
		{"show", "--simulate", "--format", "dot", "--outbound"},
		{"show", "--format", "png"},
	} {
		if r := runBinary(t, args...); r.code != exitUsage || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2", args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestShowFormatSimulate(t *testing.T) {
	plan, err := nat.Plan(nat.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]string{"mermaid": explain.Mermaid(plan, nil), "dot": explain.Dot(plan, nil)} {
		if r := runBinary(t, "show", "--simulate", "--format", format); r.code != 0 || r.stdout != want {
			t.Errorf("show --simulate --format %s: exit %d, stderr %s, output:\n%s", format, r.code, r.stderr, r.stdout)
		}
	}
	r := runBinary(t, "explain", "--simulate", "--inbound", "--to", "192.0.2.2:80", "--format", "mermaid")
	if r.code != 0 || !strings.Contains(r.stdout, "classDef path") || !strings.Contains(r.stdout, "linkStyle") {
		t.Fatalf("explain --format mermaid: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// docsExplain holds the generated blocks (it was the README's until the
// reference moved under docs/).
const docsExplain = "../../docs/explain.md"

// The diagram and example output in docs/explain.md are the output of the
// command each names, so they cannot go stale: go test ./cmd/proxy-init -run
// TestDocsGenerated -update-docs rewrites them.
func TestDocsGenerated(t *testing.T) {
	const begin, end = "<!-- BEGIN generated: proxy-init ", "```\n<!-- END generated -->"
	readme, err := os.ReadFile(docsExplain)
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	var out strings.Builder
	blocks := 0
	for {
		i := strings.Index(s, begin)
		if i < 0 {
			out.WriteString(s)
			break
		}
		// The marker line names the command; the fence line follows it.
		argEnd := strings.Index(s[i:], " -->\n")
		fence := strings.Index(s[i+argEnd+5:], "\n")
		j := strings.Index(s[i:], end)
		if argEnd < 0 || fence < 0 || j < 0 {
			t.Fatalf(docsExplain+": unterminated generated block at %q", s[i:min(len(s), i+80)])
		}
		bodyStart := i + argEnd + 5 + fence + 1
		args := strings.Fields(s[i+len(begin) : i+argEnd])
		if !slices.Contains(args, "--simulate") {
			// runHere acts in this process's namespace, the host's.
			t.Fatalf("%s's generated block runs proxy-init %s without --simulate: it would act on the host's namespace", docsExplain, strings.Join(args, " "))
		}
		r := runBinary(t, args...)
		if r.code != 0 {
			t.Fatalf("proxy-init %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		if got := s[bodyStart : i+j]; got != r.stdout && !*updateDocs {
			t.Errorf("%s: the output of proxy-init %s is stale (- docs, + now); run go test ./cmd/proxy-init -run TestDocsGenerated -update-docs:\n%s", docsExplain, strings.Join(args, " "), linediff.Diff(got, r.stdout))
		}
		out.WriteString(s[:bodyStart] + r.stdout)
		s = s[i+j:]
		blocks++
	}
	if blocks < 2 {
		t.Fatalf("%s has %d generated blocks; want the default diagram and the explain example", docsExplain, blocks)
	}
	if *updateDocs {
		if err := os.WriteFile(docsExplain, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExplainLive: explain reads the live rules of a namespace through
// pod.Inspect, prints how they differ from the flags before the path,
// names the other NAT chains on the hook, and writes nothing.
func TestExplainLive(t *testing.T) {
	ns := testns.New(t)
	if r := runBinary(t, "--netns", ns.Path(), "--inbound-ports-to-ignore", "4190"); r.code != 0 {
		t.Fatalf("apply exit %d: %s", r.code, r.stderr)
	}
	ns.Run(t, "iptables-nft", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "99", "-j", "REDIRECT", "--to-ports", "100")
	ns.LoadNft(t, "table inet mesh {\n\tchain pre {\n\t\ttype nat hook prerouting priority -150; policy accept;\n\t}\n}\n")
	before := ns.Ruleset(t)

	// Same flags: no difference; the live ignore-port rule decides.
	r := runBinary(t, "explain", "--netns", ns.Path(), "--inbound-ports-to-ignore", "4190", "--inbound", "--from", "192.0.2.1", "--to", "192.0.2.2:4190")
	if r.code != 0 || strings.Contains(r.stdout, "differ") || !strings.Contains(r.stdout, "result: not redirected (accept), by proxy-init/ignore-port") || !strings.Contains(r.stdout, "(live rules)") {
		t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"other NAT chains on this hook (not evaluated):\n",
		"table ip nat chain PREROUTING, hook prerouting priority -100: same priority as ours",
		"table inet mesh chain pre, hook prerouting priority -150: runs before ours",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	// Other flags: the difference comes first, and the live rules are
	// explained, not the flags' plan.
	r = runBinary(t, "explain", "--netns", ns.Path(), "--inbound-ports-to-ignore", "4191", "--inbound", "--to", "192.0.2.2:4190", "--output", "json")
	var got struct {
		DecidedBy string `json:"decided_by"`
		Diff      string `json:"diff"`
		Source    string `json:"source"`
		Others    []struct {
			Table, Order string
		} `json:"other_chains"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if got.DecidedBy != "proxy-init/ignore-port" || got.Source != "live" || !strings.Contains(got.Diff, "+\t\telements = { 4190 }") || len(got.Others) != 2 {
		t.Fatalf("json:\n%s", r.stdout)
	}
	r = runBinary(t, "explain", "--netns", ns.Path(), "--inbound-ports-to-ignore", "4191", "--inbound", "--to", "192.0.2.2:4190")
	if i := strings.Index(r.stdout, "the live rules differ"); i != 0 || !strings.Contains(r.stdout, "inbound TCP any source -> 192.0.2.2:4190") {
		t.Fatalf("the difference does not come first:\n%s", r.stdout)
	}
	// show --format draws the live rules: the same picture as the plan's.
	plan, err := nat.Plan(func() nat.Config {
		c := nat.DefaultConfig()
		c.InboundPortsToIgnore = []nat.PortRange{{First: 4190, Last: 4190}}
		return c
	}())
	if err != nil {
		t.Fatal(err)
	}
	if r := runBinary(t, "show", "--netns", ns.Path(), "--format", "dot"); r.code != 0 || r.stdout != explain.Dot(plan, nil) {
		t.Fatalf("show --format dot: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if after := ns.Ruleset(t); after != before {
		t.Fatalf("explain or show changed the ruleset:\n%s", linediff.Diff(before, after))
	}
}

// TestExplainLooksUpTheRoute: without --oif, explain of an outbound
// connection asks the pod's routing which interface it leaves through, so
// that a connection to the pod's own address (a local route, via lo) is
// seen to be exempted by ignore-loopback, as the kernel exempts it, and a
// remote address (via the veth) is redirected; the note says where the
// interface came from. A destination without a route says so and keeps the
// assumption. --simulate asks no kernel.
func TestExplainLooksUpTheRoute(t *testing.T) {
	tp := topology.New(t)
	if r := runBinary(t, "--netns", tp.PodPath()); r.code != 0 {
		t.Fatalf("apply exit %d: %s", r.code, r.stderr)
	}
	explain := func(args ...string) string {
		t.Helper()
		r := runBinary(t, append([]string{"explain", "--netns", tp.PodPath(), "--outbound", "--as-uid", "1000"}, args...)...)
		if r.code != 0 {
			t.Fatalf("explain %v: exit %d:\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	for _, tc := range []struct {
		to     string
		result string
		note   string
	}{
		{netip.AddrPortFrom(tp.PodAddr4, 8080).String(), "result: not redirected (accept), by proxy-init/ignore-loopback",
			`note: output interface "lo" from the route lookup in the namespace (route local ` + tp.PodAddr4.String() + ` dev lo: a local route`},
		{netip.AddrPortFrom(tp.PodAddr6, 8080).String(), "result: not redirected (accept), by proxy-init/ignore-loopback",
			`note: output interface "lo" from the route lookup in the namespace (route local ` + tp.PodAddr6.String() + ` dev lo`},
		{netip.AddrPortFrom(tp.PeerAddr4, 8080).String(), "result: redirected to :4140 by proxy-init/redirect-all-outgoing-to-proxy-port",
			`note: output interface "` + topology.LinkName + `" from the route lookup in the namespace (route ` + tp.PeerAddr4.String() + ` dev ` + topology.LinkName},
		{netip.AddrPortFrom(tp.PeerAddr6, 8080).String(), "result: redirected to :4140 by proxy-init/redirect-all-outgoing-to-proxy-port",
			`note: output interface "` + topology.LinkName + `" from the route lookup`},
		{"203.0.113.1:80", "result: redirected to :4140 by proxy-init/redirect-all-outgoing-to-proxy-port",
			"note: the route lookup in the namespace found no route to 203.0.113.1: network is unreachable"},
	} {
		if out := explain("--to", tc.to); !strings.Contains(out, tc.result) || !strings.Contains(out, tc.note) {
			t.Errorf("explain --to %s: want %q and %q:\n%s", tc.to, tc.result, tc.note, out)
		}
	}
	// --oif still decides when given, and the JSON has the route.
	own := netip.AddrPortFrom(tp.PodAddr4, 8080).String()
	if out := explain("--to", own, "--oif", topology.LinkName); !strings.Contains(out, "result: redirected to :4140") || strings.Contains(out, "route lookup") {
		t.Errorf("explain --oif %s:\n%s", topology.LinkName, out)
	}
	var got struct {
		DecidedBy string    `json:"decided_by"`
		Route     nat.Route `json:"route"`
	}
	if out := explain("--to", own, "--output", "json"); json.Unmarshal([]byte(out), &got) != nil || got.DecidedBy != "proxy-init/ignore-loopback" || got.Route.OIF != "lo" || got.Route.Type != "local" {
		t.Errorf("json: %+v\n%s", got, out)
	}
	// --simulate: no kernel, the address alone.
	r := runBinary(t, "explain", "--simulate", "--outbound", "--as-uid", "1000", "--to", own)
	if r.code != 0 || !strings.Contains(r.stdout, "result: redirected") || !strings.Contains(r.stdout, "output interface taken as not lo") {
		t.Errorf("simulate: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

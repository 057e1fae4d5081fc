package harness

import (
	"net/netip"

	"github.com/proxy-init/netlink-native/internal/topology"
	"github.com/proxy-init/netlink-native/nat"
)

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
	// NoRules runs the flows with nothing installed on either side (Steps
	// empty): the baseline that upstream's suite checks too.
	NoRules bool
	// Argv, with Via Binary, gives each step's flags verbatim (such as
	// upstream's manifests spell them) instead of Args(step); the step's
	// Config is still what the reference installs.
	Argv [][]string
}

// last is the configuration in force when the flows run.
func (c Case) last() (nat.Config, bool) {
	if len(c.Steps) == 0 {
		return nat.Config{}, false
	}
	return c.Steps[len(c.Steps)-1], true
}

// proxyNames are the listener names of the inbound and outbound proxy: one
// listener, "proxy", when both directions share a port, as upstream's
// integration pods do (-p 8080 -o 8080).
func (c Case) proxyNames() [2]string {
	if last, ok := c.last(); ok && last.InboundProxyPort == last.OutboundProxyPort {
		return [2]string{proxyShared, proxyShared}
	}
	return [2]string{proxyIn, proxyOut}
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

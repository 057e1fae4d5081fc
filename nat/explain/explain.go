// Package explain says why a connection is, or is not, redirected to the
// proxy: Explain evaluates one table of a nat.Ruleset rule by rule, the way
// the kernel evaluates a connection's first packet, and returns the Trace;
// Mermaid and Dot draw the chains, with a trace's path marked. It is pure:
// the same code explains a plan (nat.Plan) and live rules read back from a
// namespace (nat.Engine's Live), without root.
//
//	tr, err := explain.Explain(plan, explain.Flow{Direction: explain.Inbound, Dst: dst, UID: nat.NoID, GID: nat.NoID})
//	fmt.Println(tr.Verdict, tr.DecidedBy)
package explain

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/proxy-init/netlink-native/nat"
)

// Explaining a connection: the rules of one table evaluated, rule by rule,
// the way the kernel evaluates them for a connection's first packet (the
// only packet NAT chains see; conntrack applies the decision to the rest).
// It is a pure function of a Ruleset and a Flow, so the same code explains
// the live rules, the plan of some flags, and runs in tests without root.

// Direction says which of our hooks a connection's first packet passes.
type Direction int

const (
	// Inbound: the packet arrives from the network (hook prerouting).
	Inbound Direction = iota
	// Outbound: a local process sends it (hook output).
	Outbound
)

func (d Direction) String() string {
	if d == Outbound {
		return "outbound"
	}
	return "inbound"
}

// hook is the nf_tables hook the direction's first packet passes.
func (d Direction) hook() string {
	if d == Outbound {
		return "output"
	}
	return "prerouting"
}

// Flow is one TCP connection, as the NAT hooks see its first packet.
type Flow struct {
	Direction Direction
	// Src is the sender's address and port. An invalid address means "not
	// given"; a port of 0 means any. It matters to inbound subnet rules.
	Src netip.AddrPort
	// Dst is where the connection is addressed; its family picks the table.
	Dst netip.AddrPort
	// UID and GID own the sending socket (outbound only); NoID: not given.
	UID, GID int64
	// OIF is the interface an outbound packet leaves through; "" means not
	// given: then the zone of a scoped destination (fe80::1%eth0), or
	// Route's interface when there is one, else "lo" for a
	// loopback destination and "not lo" otherwise (the kernel routes the
	// namespace's own addresses through lo as well, which only a route
	// lookup can tell).
	OIF string
	// Route is the namespace's route for Dst, when it was looked up
	// (pod.Inspect does, for an outbound flow without OIF); nil: not.
	Route *nat.Route
}

// FlowError says what is wrong with a Flow.
type FlowError struct{ Reason string }

func (e *FlowError) Error() string { return "cannot explain the connection: " + e.Reason }

// Outcomes of a trace.
const (
	VerdictRedirect = "redirect"
	VerdictAccept   = "accept"
	VerdictDrop     = "drop"
	// DecidedByPolicy is Trace.DecidedBy when no rule decided: the packet
	// left our chains without a matching return or redirect.
	DecidedByPolicy = "policy"
)

// Trace is the path of one connection through our rules and its outcome.
// Its JSON form is what "proxy-init explain --output json" prints.
type Trace struct {
	Direction string `json:"direction"`
	// Table is the table evaluated, e.g. "ip proxy_init".
	Table string `json:"table"`
	// Verdict is "redirect" or "accept" ("drop" for a live base chain
	// whose policy is drop).
	Verdict string `json:"verdict"`
	// Port is the redirect's port, when redirected.
	Port uint16 `json:"port,omitempty"`
	// DecidedBy is the comment of the rule that decided ("proxy-init/
	// ignore-port"), or "policy" when none did.
	DecidedBy string `json:"decided_by"`
	// OriginalDst is what the proxy reads with SO_ORIGINAL_DST when
	// redirected: the connection's own destination, kept by conntrack.
	OriginalDst string `json:"original_dst,omitempty"`
	// Path has one entry per rule visited, in order.
	Path []Step `json:"path"`
	// Notes are the assumptions made and what could not be evaluated.
	Notes []string `json:"notes,omitempty"`
	// Others are the NAT base chains of other tables on the same hook,
	// which are not evaluated (see NoteOthers).
	Others []OtherChain `json:"other_chains,omitempty"`
	// Route is the route lookup the output interface came from, when the
	// flow had one (outbound, --oif not given, live rules).
	Route *nat.Route `json:"route,omitempty"`

	family   nat.Family
	priority *int32 // of our base chain on the hook, when there is one
	decider  int    // index in Path of the deciding rule; -1: none
}

// Step is one rule visited.
type Step struct {
	Chain string `json:"chain"`
	// Index is the rule's position in its chain, from 0.
	Index int `json:"index"`
	// Comment is the rule's comment, "proxy-init/<name>"; empty for a rule
	// we could not have written.
	Comment string `json:"comment"`
	// Rule is the rule in nft syntax, without its counter.
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	// Reason says why the rule matched (each condition) or which condition
	// did not.
	Reason string `json:"reason"`
	// Depth is how many jumps deep the chain is (0: the base chain).
	Depth int `json:"depth"`
}

// maxJumpDepth is the kernel's jump stack (NFT_JUMP_STACK_SIZE).
const maxJumpDepth = 16

// maxExplainID is the largest uid or gid a socket can have ((uid_t)-1
// means none), as Config.Validate bounds ProxyUID.
const maxExplainID = 1<<32 - 2

// Explain evaluates rs for flow f as the kernel would evaluate the flow's
// first packet, in the table of the flow's family.
func Explain(rs *nat.Ruleset, f Flow) (*Trace, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	fam := nat.IPv4
	if f.Dst.Addr().Is6() {
		fam = nat.IPv6
	}
	tr := &Trace{Direction: f.Direction.String(), Table: fam.String() + " " + nat.TableName, Verdict: VerdictAccept, family: fam, Path: []Step{}, decider: -1}
	f.OIF = tr.outputInterface(f)
	var t *nat.Table
	if rs != nil {
		t = rs.Table(fam)
	}
	switch {
	case t == nil:
		tr.note("there is no table " + tr.Table + ": no rule of ours sees this connection")
	case t.Flags&1 != 0:
		tr.note("table " + tr.Table + " is dormant: its chains are not attached to the hooks")
	default:
		e := &evaluator{t: t, f: f, tr: tr}
		e.run()
	}
	tr.DecidedBy = DecidedByPolicy
	if tr.decider >= 0 {
		d := tr.Path[tr.decider]
		tr.DecidedBy = d.Comment
		if d.Comment == "" {
			tr.DecidedBy = fmt.Sprintf("%s rule %d", d.Chain, d.Index)
		}
	}
	return tr, nil
}

// outputInterface is the interface an outbound flow is evaluated with, and
// notes where it came from: given, the route lookup, or an assumption ("":
// not lo).
func (tr *Trace) outputInterface(f Flow) string {
	if f.Direction != Outbound || f.OIF != "" {
		return f.OIF
	}
	if z := f.Dst.Addr().Zone(); z != "" {
		// A scoped (link-local) destination leaves through its zone.
		tr.note(fmt.Sprintf("output interface %q: the destination's zone (--oif not given)", z))
		return z
	}
	if r := f.Route; r != nil {
		tr.Route = r
		if r.OIF != "" {
			what := ""
			if r.Type == "local" {
				what = ": a local route, the destination is one of the namespace's own addresses"
			}
			tr.note(fmt.Sprintf("output interface %q from the route lookup in the namespace (route %s%s; --oif not given)", r.OIF, r, what))
			return r.OIF
		}
		tr.note(fmt.Sprintf("the route lookup in the namespace found %s: a connection to it fails before its first packet reaches the NAT hook; explained as if it were sent", r))
	}
	if f.Dst.Addr().IsLoopback() {
		tr.note("output interface taken as lo: the destination is a loopback address (--oif not given)")
		return "lo"
	}
	if f.Route != nil {
		tr.note("output interface taken as not lo (--oif not given)")
		return ""
	}
	// Not looked up (--simulate): the address cannot tell.
	tr.note("output interface taken as not lo (--oif not given); a destination that is one of the pod's own addresses leaves through lo")
	return ""
}

// Validate reports what is wrong with the flow (a *FlowError), as Explain
// would, so that a caller can refuse it before any I/O.
func (f Flow) Validate() error { return f.check() }

func (f Flow) check() error {
	switch {
	case f.Direction != Inbound && f.Direction != Outbound:
		return &FlowError{Reason: fmt.Sprintf("unknown direction %d", int(f.Direction))}
	case !f.Dst.Addr().IsValid():
		return &FlowError{Reason: "no destination address"}
	case f.Dst.Port() == 0:
		return &FlowError{Reason: "no destination port"}
	case f.Dst.Addr().Is4In6() || f.Src.Addr().Is4In6():
		return &FlowError{Reason: "an IPv4-mapped IPv6 address: give the IPv4 address"}
	case f.Src.Addr().IsValid() && f.Src.Addr().Is4() != f.Dst.Addr().Is4():
		return &FlowError{Reason: fmt.Sprintf("source %s and destination %s are of different families", f.Src.Addr(), f.Dst.Addr())}
	case f.UID < nat.NoID || f.GID < nat.NoID || f.UID > maxExplainID || f.GID > maxExplainID:
		return &FlowError{Reason: "uid and gid must be -1 (not given) or an id"}
	}
	return nil
}

func (tr *Trace) note(s string) {
	if !slices.Contains(tr.Notes, s) {
		tr.Notes = append(tr.Notes, s)
	}
}

// Redirected reports whether the connection goes to the proxy.
func (tr *Trace) Redirected() bool { return tr.Verdict == VerdictRedirect }

type evaluator struct {
	t  *nat.Table
	f  Flow
	tr *Trace
	// lastReturn is the last return rule that matched: when the packet
	// then leaves our chains unchanged, it is the rule that kept it from
	// the proxy.
	lastReturn int
}

// run evaluates the table's base chains on the flow's hook in priority
// order, as the kernel's NAT core does: the next runs only while no
// earlier one has set up a NAT binding (a redirect).
func (e *evaluator) run() {
	e.lastReturn = -1
	var bases []*nat.Chain
	for _, c := range e.t.Chains {
		if c.Hook != nil && c.Hook.Name == e.f.Direction.hook() && c.Hook.Type == "nat" {
			bases = append(bases, c)
		}
	}
	slices.SortStableFunc(bases, func(a, b *nat.Chain) int { return cmp.Compare(a.Hook.Priority, b.Hook.Priority) })
	if len(bases) == 0 {
		e.tr.note("table " + e.tr.Table + " has no nat base chain on hook " + e.f.Direction.hook())
		return
	}
	p := bases[0].Hook.Priority
	e.tr.priority = &p
	for _, c := range bases {
		if e.chain(c, 0) {
			return
		}
		if c.Hook.Policy == VerdictDrop {
			e.tr.Verdict = VerdictDrop
			e.tr.note("base chain " + c.Name + " has policy drop")
			return
		}
	}
	e.tr.decider = e.lastReturn
}

// chain evaluates one chain; it reports whether the packet's fate was
// settled (a redirect), as opposed to returning to the caller.
func (e *evaluator) chain(c *nat.Chain, depth int) bool {
	for i, r := range c.Rules {
		step := Step{Chain: c.Name, Index: i, Depth: depth}
		if r.Unrecognised != "" {
			step.Rule = "# " + r.Unrecognised
			step.Reason = "not a rule proxy-init writes; not evaluated, taken as not matching"
			e.tr.note(fmt.Sprintf("chain %s rule %d is not one proxy-init writes and was not evaluated: the outcome may differ", c.Name, i))
			e.tr.Path = append(e.tr.Path, step)
			continue
		}
		step.Comment = nat.CommentPrefix + r.Name
		step.Rule = ruleText(e.tr.family, r)
		matched, reason := true, make([]string, 0, len(r.Matches))
		for _, m := range r.Matches {
			ok, why := e.matchFlow(m)
			reason = append(reason, why)
			if !ok {
				// The kernel stops at the first condition that fails.
				matched, reason = false, []string{why}
				break
			}
		}
		step.Matched = matched
		if !matched {
			step.Reason = strings.Join(reason, "; ")
			e.tr.Path = append(e.tr.Path, step)
			continue
		}
		if len(reason) == 0 {
			reason = append(reason, "no condition: every packet")
		}
		step.Reason = strings.Join(reason, "; ")
		e.tr.Path = append(e.tr.Path, step)
		at := len(e.tr.Path) - 1
		switch e.applyVerdict(r.Verdict, at, depth) {
		case settled:
			return true
		case returned:
			return false
		}
	}
	return false
}

type flowOn int

const (
	next     flowOn = iota // continue with the chain's next rule
	returned               // leave the chain
	settled                // the packet's NAT is decided
)

// matchFlow evaluates one condition; every Match type has a case here (a
// test checks it).
func (e *evaluator) matchFlow(m nat.Match) (bool, string) {
	f := e.f
	switch m := m.(type) {
	case nat.L4ProtoTCP:
		return true, "the connection is TCP"
	case nat.DPortInSet:
		key := binary.BigEndian.AppendUint16(nil, f.Dst.Port())
		return e.inSet(m.Set, key, fmt.Sprintf("destination port %d", f.Dst.Port()))
	case nat.AddrInSet:
		a, what := f.Src.Addr(), "source"
		if m.Dest {
			a, what = f.Dst.Addr(), "destination"
		}
		if !a.IsValid() {
			e.tr.note("source address not given (--from): taken as outside @" + m.Set)
			return false, "source address not given; taken as not in @" + m.Set
		}
		return e.inSet(m.Set, a.AsSlice(), what+" "+a.String())
	case nat.SocketID:
		kind, id, flag := "uid", f.UID, "--as-uid"
		if m.Group {
			kind, id, flag = "gid", f.GID, "--as-gid"
		}
		switch {
		case f.Direction == Inbound:
			return false, "an arriving packet has no local socket, so no " + kind
		case id == nat.NoID:
			e.tr.note(fmt.Sprintf("sender's %s not given (%s): taken as not %d", kind, flag, m.ID))
			return false, fmt.Sprintf("sender's %s not given; taken as not %d", kind, m.ID)
		case uint32(id) == m.ID:
			return true, fmt.Sprintf("sender's %s is %d", kind, id)
		}
		return false, fmt.Sprintf("sender's %s %d is not %d", kind, id, m.ID)
	case nat.OIFName:
		if f.Direction == Inbound {
			return false, "an arriving packet has no output interface at prerouting"
		}
		oif := f.OIF // as outputInterface settled it
		if oif == "" {
			if m.Name != "lo" {
				e.tr.note(fmt.Sprintf("output interface not given (--oif): taken as not %q", m.Name))
			}
			return false, fmt.Sprintf("output interface taken as not %q", m.Name)
		}
		if oif == m.Name {
			return true, fmt.Sprintf("output interface is %q", oif)
		}
		return false, fmt.Sprintf("output interface %q is not %q (names compare exactly)", oif, m.Name)
	}
	e.tr.note(fmt.Sprintf("a condition of type %T cannot be evaluated: taken as not matching", m))
	return false, fmt.Sprintf("condition %T not evaluated", m)
}

// applyVerdict carries out a matched rule's verdict; every Verdict type has
// a case here (a test checks it).
func (e *evaluator) applyVerdict(v nat.Verdict, at, depth int) flowOn {
	step := &e.tr.Path[at]
	switch v := v.(type) {
	case nat.Return:
		e.lastReturn = at
		if depth == 0 {
			step.Reason += "; return from a base chain: its policy applies"
		} else {
			step.Reason += "; return: left alone by this chain"
		}
		return returned
	case nat.Jump:
		target := e.t.Chain(v.Chain)
		switch {
		case target == nil:
			e.tr.note("jump to chain " + v.Chain + ", which does not exist: nothing evaluated there")
			return next
		case target.Hook != nil:
			e.tr.note("jump to base chain " + v.Chain + ": the kernel refuses such a rule; not followed")
			return next
		case depth+1 >= maxJumpDepth:
			e.tr.note(fmt.Sprintf("jumps deeper than %d: the kernel drops such a packet; not followed", maxJumpDepth))
			return next
		}
		if e.chain(target, depth+1) {
			return settled
		}
		return next
	case nat.Redirect:
		e.tr.Verdict, e.tr.Port = VerdictRedirect, v.Port
		e.tr.OriginalDst = e.f.Dst.String()
		e.tr.decider = at
		to := "the primary address of the interface it arrived on"
		if e.f.Direction == Outbound {
			to = "the loopback address"
		}
		step.Reason += fmt.Sprintf("; redirected to %s, port %d; the proxy reads %s with SO_ORIGINAL_DST", to, v.Port, e.f.Dst)
		return settled
	}
	e.tr.note(fmt.Sprintf("a verdict of type %T cannot be evaluated: taken as continuing", v))
	return next
}

// inSet looks key up in the named set of the table; what describes the key.
func (e *evaluator) inSet(name string, key []byte, what string) (bool, string) {
	s := e.t.Set(name)
	if s == nil {
		e.tr.note("set " + name + " does not exist: its lookup cannot match")
		return false, what + ": set @" + name + " does not exist"
	}
	if s.Unrecognised != "" {
		e.tr.note("set " + name + " is not one proxy-init creates (" + s.Unrecognised + "): taken as not matching")
		return false, what + ": set @" + name + " not evaluated"
	}
	for _, el := range s.Elements {
		if len(el.First) == len(key) && bytes.Compare(el.First, key) <= 0 && bytes.Compare(key, el.Last) <= 0 {
			return true, fmt.Sprintf("%s is in @%s (element %s)", what, name, s.Key.Format(el))
		}
	}
	return false, fmt.Sprintf("%s is not in @%s %s", what, name, summary(s))
}

// summary lists a set's elements briefly for a reason.
func summary(s *nat.Set) string {
	const shown = 6
	parts := make([]string, 0, shown)
	for i, el := range s.Elements {
		if i == shown {
			parts = append(parts, fmt.Sprintf("... %d elements in all", len(s.Elements)))
			break
		}
		parts = append(parts, s.Key.Format(el))
	}
	return "{ " + strings.Join(parts, ", ") + " }"
}

// ruleText is the rule in nft syntax without its counter, for a trace or a
// diagram.
func ruleText(f nat.Family, r *nat.Rule) string {
	if r.Unrecognised != "" {
		return "# " + r.Unrecognised
	}
	var parts []string
	for _, m := range r.Matches {
		parts = append(parts, nat.MatchText(m, f))
	}
	if r.Verdict != nil {
		parts = append(parts, nat.VerdictText(r.Verdict))
	}
	return strings.Join(parts, " ")
}

// OtherChain is a NAT base chain of another table on the trace's hook.
type OtherChain struct {
	nat.BaseChain
	// Order is "before", "after" or "same priority" relative to ours.
	Order string `json:"order"`
	// Effect says what that order means for this connection.
	Effect string `json:"effect"`
}

// NoteOthers records which NAT base chains of other tables run on the
// trace's hook in its family, before or after ours. They are not evaluated:
// their rules are not ours to decode, and explain says so rather than guess.
func (tr *Trace) NoteOthers(chains []nat.BaseChain) {
	hook := "prerouting"
	if tr.Direction == Outbound.String() {
		hook = "output"
	}
	for _, c := range chains {
		if c.Ours() || c.Type != "nat" || c.Hook != hook || (c.Family != tr.family.String() && c.Family != "inet") {
			continue
		}
		o := OtherChain{BaseChain: c}
		switch {
		case tr.priority == nil:
			o.Order, o.Effect = "alone", "ours has no chain on this hook; this one's rules decide and are not evaluated here"
		case c.Priority < *tr.priority:
			o.Order, o.Effect = "before", "runs before ours: if it NATs the connection, ours is not consulted; not evaluated here"
		case c.Priority > *tr.priority:
			o.Order, o.Effect = "after", "runs after ours: consulted only if ours did not redirect; not evaluated here"
		default:
			o.Order, o.Effect = "same priority", "same priority as ours: the one registered first runs first, and a NAT by either stops the other; not evaluated here"
		}
		tr.Others = append(tr.Others, o)
	}
}

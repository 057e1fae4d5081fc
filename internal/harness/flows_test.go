package harness

import (
	"net/netip"

	"github.com/proxy-init/netlink-native/nat"
)

// Builders that keep the case table close to prose: in(8080, Proxy) is an
// inbound flow to port 8080 of the pod in both families that must reach the
// inbound proxy.

type opt func(*Flow)

// as runs the pod-side client with these ids instead of the application's.
func as(uid, gid uint32) opt { return func(f *Flow) { f.UID, f.GID = uid, gid } }

// note explains why the flow is in the table.
func note(s string) opt { return func(f *Flow) { f.Note = s } }

// refLands records a known difference: the reference lands at l, for why.
func refLands(l Landing, why string) opt {
	return func(f *Flow) { f.RefWant, f.RefWhy = l, why }
}

// alt dials the peer over the second link (AddAltLink).
func alt() opt { return func(f *Flow) { f.Alt = true } }

// only keeps one family of the flow: only(4) or only(6).
type only int

func flowsOf(k Kind, port uint16, want Landing, opts []any) []Flow {
	fams := []bool{false, true}
	base := Flow{Kind: k, Port: port, Want: want, UID: AppUID, GID: AppGID}
	for _, o := range opts {
		switch o := o.(type) {
		case opt:
			o(&base)
		case only:
			fams = []bool{o == 6}
		default:
			panic("flow option of unknown type")
		}
	}
	var out []Flow
	for _, v6 := range fams {
		f := base
		f.IPv6 = v6
		out = append(out, f)
	}
	return out
}

func in(port uint16, want Landing, o ...any) []Flow  { return flowsOf(Inbound, port, want, o) }
func out(port uint16, want Landing, o ...any) []Flow { return flowsOf(Outbound, port, want, o) }
func lo(port uint16, want Landing, o ...any) []Flow  { return flowsOf(Loopback, port, want, o) }
func own(port uint16, want Landing, o ...any) []Flow { return flowsOf(OwnAddr, port, want, o) }

func flows(groups ...[]Flow) []Flow {
	var all []Flow
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}

// config is the seed's defaults (4143, 4140, uid 2102, IPv4 and IPv6)
// changed by edit.
func config(edit func(c *nat.Config)) nat.Config {
	c := nat.DefaultConfig()
	if edit != nil {
		edit(&c)
	}
	return c
}

func ports(s string) []nat.PortRange {
	rs, err := nat.ParsePortList(s)
	if err != nil {
		panic(err)
	}
	return rs
}

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

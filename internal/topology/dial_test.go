package topology

import (
	"net/netip"
	"testing"
)

// nft rules that refuse one uid and one gid, so a Dial that really creates
// its socket with those ids sees "refused" and one as root does not.
const ownerRules = `
table inet pit_owner {
	chain out {
		type filter hook output priority 0; policy accept;
		meta skuid 1234 tcp dport 80 reject with tcp reset
		meta skgid 4321 tcp dport 81 reject with tcp reset
	}
}
`

func TestDialAsUIDAndGID(t *testing.T) {
	t.Parallel()
	tp := New(t)
	if _, err := tp.RunInput(Pod, ownerRules, "nft", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	tp.Listen(Peer, "peer", 80)
	tp.Listen(Peer, "peer", 81)
	for _, peer := range []netip.Addr{tp.PeerAddr4, tp.PeerAddr6} {
		p80, p81 := netip.AddrPortFrom(peer, 80), netip.AddrPortFrom(peer, 81)
		for _, c := range []struct {
			opts DialOptions
			want Outcome
		}{
			{DialOptions{Dst: p80}, Answer("peer", p80)},
			{DialOptions{Dst: p80, UID: 1234}, Refused},
			{DialOptions{Dst: p80, GID: 4321}, Answer("peer", p80)},
			{DialOptions{Dst: p81, GID: 4321}, Refused},
			{DialOptions{Dst: p81, UID: 1234}, Answer("peer", p81)},
			{DialOptions{Dst: p81, UID: 1234, GID: 4321}, Refused},
		} {
			if got := tp.Dial(Pod, c.opts); got != c.want {
				t.Errorf("dial %+v: got %q, want %q", c.opts, got, c.want)
			}
		}
	}
}

// natRules redirect like proxy-init does, so the proxy must read the
// original destination back from conntrack in both families.
const natRules = `
table inet pit_nat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 80 redirect to :4143
	}
	chain out {
		type nat hook output priority -100; policy accept;
		oifname "lo" return
		tcp dport 80 redirect to :4140
	}
}
`

func TestProxySeesOriginalDestination(t *testing.T) {
	t.Parallel()
	tp := New(t)
	if _, err := tp.RunInput(Pod, natRules, "nft", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	tp.ListenProxy("proxy-in", 4143)
	tp.ListenProxy("proxy-out", 4140)
	tp.Listen(Peer, "peer", 80)
	for _, c := range []struct {
		from NS
		dst  netip.AddrPort
		want string
	}{
		{Pod, netip.AddrPortFrom(tp.PeerAddr4, 80), "proxy-out 192.0.2.1:80"},
		{Pod, netip.AddrPortFrom(tp.PeerAddr6, 80), "proxy-out [2001:db8::1]:80"},
		{Peer, netip.AddrPortFrom(tp.PodAddr4, 80), "proxy-in 192.0.2.2:80"},
		{Peer, netip.AddrPortFrom(tp.PodAddr6, 80), "proxy-in [2001:db8::2]:80"},
		// Not NATed: conntrack is active here, so the answer is the plain
		// destination, read through the same socket option.
		{Peer, netip.AddrPortFrom(tp.PodAddr6, 4140), "proxy-out [2001:db8::2]:4140"},
	} {
		if got := tp.Dial(c.from, DialOptions{Dst: c.dst}).String(); got != c.want {
			t.Errorf("%s -> %s: got %q, want %q", c.from, c.dst, got, c.want)
		}
	}
}

func TestOriginalDstWithoutConntrack(t *testing.T) {
	t.Parallel()
	tp := New(t)
	// No nat rules: the listener falls back to its local address.
	tp.ListenProxy("proxy", 4140)
	dst := netip.AddrPortFrom(tp.PodAddr4, 4140)
	if got, want := tp.Dial(Peer, DialOptions{Dst: dst}), Answer("proxy", dst); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

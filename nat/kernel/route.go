//go:build linux

package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/proxy-init/netlink-native/internal/netns"
	"github.com/proxy-init/netlink-native/internal/nfnl"
	"github.com/proxy-init/netlink-native/nat"
	"golang.org/x/sys/unix"
)

// Route asks the namespace's routing for the route of a connection to dst,
// as `ip route get dst [uid N]` does, over rtnetlink (RTM_GETROUTE, then
// RTM_GETLINK for the interface's name, which only the namespace knows):
// no ip binary. The uid matters to uid-based policy routing rules; NoID
// leaves it to the kernel, which then takes ours, as ip route get does.
//
// The kernel answers a lookup that finds no usable route with the error a
// connect(2) would get (ENETUNREACH for none at all, EHOSTUNREACH for an
// unreachable route, EACCES for prohibit, EINVAL for blackhole): those are
// answers, in Route.NoRoute. Anything else is a *nat.KernelError (OpProbe).
func (c *Client) Route(ctx context.Context, dst netip.Addr, uid int64) (nat.Route, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := nat.Route{Dst: dst}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if !dst.IsValid() || dst.Is4In6() || dst.Zone() != "" {
		return r, fmt.Errorf("route lookup: %q is not an IPv4 or unscoped IPv6 address", dst)
	}
	// Opened on a thread inside the namespace, as the nftables reader is:
	// netlink.Config.NetNS would need /proc to come back.
	var conn *netlink.Conn
	err := netns.Do(c.nsFD, func() (err error) {
		conn, err = netlink.Dial(unix.NETLINK_ROUTE, nil)
		return err
	})
	if err != nil {
		return r, classify(nat.OpProbe, fmt.Errorf("open route netlink socket: %w", err))
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(nfnl.DefaultTimeout)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return r, classify(nat.OpProbe, fmt.Errorf("route lookup for %s: %w", dst, err))
	}

	index, typ, err := lookupRoute(conn, dst, uid)
	if reason, ok := noRoute(err); ok {
		r.NoRoute = reason
		return r, nil
	}
	if err != nil {
		return r, classifyCtx(ctx, nat.OpProbe, fmt.Errorf("route lookup for %s: %w", dst, err))
	}
	r.Type = routeTypeName(typ)
	if r.OIF, err = linkName(conn, index); err != nil {
		return r, classifyCtx(ctx, nat.OpProbe, fmt.Errorf("route lookup for %s: name of interface %d: %w", dst, index, err))
	}
	return r, nil
}

// lookupRoute sends RTM_GETROUTE and returns the output interface's index
// and the route's type.
func lookupRoute(conn *netlink.Conn, dst netip.Addr, uid int64) (uint32, uint8, error) {
	// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope,
	// type, flags (u32); then the attributes.
	hdr := make([]byte, unix.SizeofRtMsg)
	hdr[0] = unix.AF_INET
	if dst.Is6() {
		hdr[0] = unix.AF_INET6
	}
	hdr[1] = byte(dst.BitLen())
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.RTA_DST, dst.AsSlice())
	if uid != nat.NoID {
		ae.Uint32(unix.RTA_UID, uint32(uid))
	}
	attrs, err := ae.Encode()
	if err != nil {
		return 0, 0, err
	}
	msgs, err := conn.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request},
		Data:   append(hdr, attrs...),
	})
	if err != nil {
		return 0, 0, err
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWROUTE || len(m.Data) < unix.SizeofRtMsg {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[unix.SizeofRtMsg:])
		if err != nil {
			return 0, 0, err
		}
		var oif uint32
		for ad.Next() {
			if ad.Type() == unix.RTA_OIF {
				oif = ad.Uint32()
			}
		}
		if err := ad.Err(); err != nil {
			return 0, 0, err
		}
		if oif == 0 {
			return 0, 0, errors.New("the route names no output interface")
		}
		return oif, m.Data[7], nil
	}
	return 0, 0, errors.New("no route in the kernel's answer")
}

// linkName asks for the interface's name by index (RTM_GETLINK): the index
// means something only in the namespace the route came from.
func linkName(conn *netlink.Conn, index uint32) (string, error) {
	// struct ifinfomsg: family, pad, type (u16), index (s32), flags,
	// change (u32).
	req := make([]byte, unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(req[4:8], index)
	msgs, err := conn.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   req,
	})
	if err != nil {
		return "", err
	}
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[unix.SizeofIfInfomsg:])
		if err != nil {
			return "", err
		}
		for ad.Next() {
			if ad.Type() == unix.IFLA_IFNAME {
				return ad.String(), nil
			}
		}
		if err := ad.Err(); err != nil {
			return "", err
		}
	}
	return "", errors.New("the kernel's answer has no name")
}

// noRoute tells a lookup that found no usable route, by errno.
func noRoute(err error) (string, bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, unix.ENETUNREACH):
		return "network is unreachable (no route)", true
	case errors.Is(err, unix.EHOSTUNREACH):
		return "no route to host (an unreachable route)", true
	case errors.Is(err, unix.EACCES):
		return "permission denied (a prohibit route)", true
	case errors.Is(err, unix.EINVAL):
		return "invalid argument (a blackhole route)", true
	}
	return "", false
}

// routeTypeName names an rtm_type as ip route does.
func routeTypeName(t uint8) string {
	names := [...]string{unix.RTN_UNSPEC: "none", unix.RTN_UNICAST: "unicast", unix.RTN_LOCAL: "local",
		unix.RTN_BROADCAST: "broadcast", unix.RTN_ANYCAST: "anycast", unix.RTN_MULTICAST: "multicast",
		unix.RTN_BLACKHOLE: "blackhole", unix.RTN_UNREACHABLE: "unreachable", unix.RTN_PROHIBIT: "prohibit",
		unix.RTN_THROW: "throw", unix.RTN_NAT: "nat"}
	if int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("type%d", t)
}

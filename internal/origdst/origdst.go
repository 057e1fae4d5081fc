// Package origdst reads the destination a redirected TCP connection was
// originally sent to, as a transparent proxy does.
package origdst

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ip6tSOOriginalDst is IP6T_SO_ORIGINAL_DST from linux/netfilter_ipv6/
// ip6_tables.h. It has the same value as SO_ORIGINAL_DST but lives at level
// SOL_IPV6; x/sys/unix does not export it.
const ip6tSOOriginalDst = 80

// Get returns the destination the client originally connected to,
// before any REDIRECT/DNAT, as conntrack remembers it. A connection that no
// conntrack entry tracks (conntrack is only active in a namespace once
// something like a nat chain needs it) gets ENOENT; callers fall back to the
// local address, which is then the truth anyway.
func Get(c *net.TCPConn) (netip.AddrPort, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination: %w", err)
	}
	var ap netip.AddrPort
	var opErr error
	if err := rc.Control(func(fd uintptr) { ap, opErr = getOriginalDst(int(fd)) }); err != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination: %w", err)
	}
	if opErr != nil {
		return netip.AddrPort{}, fmt.Errorf("original destination: %w", opErr)
	}
	return ap, nil
}

// getOriginalDst asks by the connection's family: an IPv6 connection needs
// SOL_IPV6 (the same option number) and answers with a sockaddr_in6. An IPv4
// client of a dual-stack ([::]) listener arrives on an AF_INET6 socket with
// IPv4-mapped addresses, but conntrack tracked it as IPv4: the IPv4 option
// finds it, the IPv6 one does not.
func getOriginalDst(fd int) (netip.AddrPort, error) {
	local, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("getsockname: %w", err)
	}
	ipv6 := false
	if sa, ok := local.(*unix.SockaddrInet6); ok {
		ipv6 = !netip.AddrFrom16(sa.Addr).Is4In6()
	}
	// Big enough for a sockaddr_in6 (28 bytes); the IPv4 option refuses a
	// buffer smaller than a sockaddr_in but accepts a larger one.
	var buf [unix.SizeofSockaddrInet6]byte
	level, opt, name := unix.SOL_IP, unix.SO_ORIGINAL_DST, "SO_ORIGINAL_DST"
	if ipv6 {
		level, opt, name = unix.SOL_IPV6, ip6tSOOriginalDst, "IP6T_SO_ORIGINAL_DST"
	}
	size := uint32(len(buf))
	// Raw getsockopt: x/sys/unix has no getter for a sockaddr-valued option.
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return netip.AddrPort{}, fmt.Errorf("%s: %w", name, errno)
	}
	return parseSockaddr(buf[:])
}

// parseSockaddr decodes a sockaddr_in or sockaddr_in6: family in host byte
// order, then the port in network byte order, then the address.
func parseSockaddr(b []byte) (netip.AddrPort, error) {
	family := *(*uint16)(unsafe.Pointer(&b[0]))
	port := binary.BigEndian.Uint16(b[2:4])
	switch family {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), nil
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), port), nil
	}
	return netip.AddrPort{}, fmt.Errorf("original destination has address family %d", family)
}

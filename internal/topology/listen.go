package topology

import (
	"context"
	"errors"
	"fmt"
	"github.com/proxy-init/netlink-native/internal/origdst"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ListenProxy starts a stand-in proxy in the pod on 0.0.0.0:port and
// [::]:port. Outbound redirection lands on 127.0.0.1 or ::1 and inbound on
// the pod's own addresses, so both families need a socket. Each connection
// is answered with "<name> <original destination>" and closed.
func (tp *Topology) ListenProxy(name string, port uint16) {
	tp.t.Helper()
	tp.Listen(Pod, name, port)
}

// Listen starts an application listener in ns on 0.0.0.0:port and [::]:port
// that answers like the proxy. Without NAT the original destination is just
// the address the client dialled, so answers read the same everywhere.
func (tp *Topology) Listen(ns NS, name string, port uint16) {
	tp.t.Helper()
	tp.ListenAddr(ns, name, netip.AddrPortFrom(netip.IPv4Unspecified(), port))
	tp.ListenAddr(ns, name, netip.AddrPortFrom(netip.IPv6Unspecified(), port))
}

// ListenAddr starts one listening socket in ns on addr and returns the bound
// address (useful with port 0). It fails the test if the socket cannot be
// made, and closes it at cleanup.
func (tp *Topology) ListenAddr(ns NS, name string, addr netip.AddrPort) netip.AddrPort {
	if tp.t == nil {
		panic("topology: listeners need a Topology made by New(t)")
	}
	tp.t.Helper()
	network := "tcp4"
	if addr.Addr().Is6() {
		network = "tcp6"
	}
	lc := net.ListenConfig{Control: v6Only}
	var ln net.Listener
	// The socket must be created on a thread inside ns; it stays there.
	err := tp.Do(ns, func() error {
		var err error
		ln, err = lc.Listen(context.Background(), network, addr.String())
		return err
	})
	if err != nil {
		tp.t.Fatalf("topology: listen %s on %s: %v", name, addr, err)
	}
	s := &server{name: name, ln: ln}
	s.wg.Add(1)
	go s.serve()
	tp.t.Cleanup(s.close)
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// v6Only makes an IPv6 listener refuse IPv4: the IPv4 socket on the same
// port must get those connections, and IPv4 clients through a v6 socket
// would read original destinations with the wrong option. Go already sets
// it for "tcp6"; saying it here keeps it true if that default ever changes.
func v6Only(network, _ string, c syscall.RawConn) error {
	if network != "tcp6" {
		return nil
	}
	var opErr error
	if err := c.Control(func(fd uintptr) {
		opErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
	}); err != nil {
		return err
	}
	if opErr != nil {
		return fmt.Errorf("IPV6_V6ONLY: %w", opErr)
	}
	return nil
}

// server answers each connection with one line and closes it.
type server struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
}

func (s *server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Transient (ECONNABORTED, EMFILE): keep serving, slowly.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go s.answer(c.(*net.TCPConn))
	}
}

func (s *server) answer(c *net.TCPConn) {
	defer s.wg.Done()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	dst, err := origdst.Get(c)
	if err != nil {
		dst = c.LocalAddr().(*net.TCPAddr).AddrPort()
	}
	// Go reports IPv4 addresses of net.TCPAddr in 16-byte form.
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	_, _ = fmt.Fprintf(c, "%s %s\n", s.name, dst)
}

// close stops accepting and waits for answers in flight, so no goroutine
// outlives the test or keeps the namespace alive through its socket.
func (s *server) close() {
	s.ln.Close()
	s.wg.Wait()
}

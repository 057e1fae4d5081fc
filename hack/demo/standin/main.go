// Command standin is the demo's stand-in for a proxy or an application: it
// listens on a port over IPv4 and IPv6 and answers every connection with its
// name and the connection's original destination (SO_ORIGINAL_DST), which is
// what a transparent proxy reads to know where the client meant to go.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/proxy-init/netlink-native/internal/origdst"
	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: standin NAME PORT")
		os.Exit(2)
	}
	name, port := os.Args[1], os.Args[2]
	lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if network == "tcp6" {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	for _, addr := range []struct{ network, host string }{{"tcp4", "0.0.0.0"}, {"tcp6", "::"}} {
		l, err := lc.Listen(context.Background(), addr.network, net.JoinHostPort(addr.host, port))
		if err != nil {
			fmt.Fprintf(os.Stderr, "standin %s: %v\n", name, err)
			os.Exit(1)
		}
		go serve(l, name)
	}
	select {}
}

func serve(l net.Listener, name string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		dst := c.LocalAddr().String()
		if od, err := origdst.Get(c.(*net.TCPConn)); err == nil {
			dst = od.String()
		}
		fmt.Fprintf(c, "answered by %s, original destination %s\n", name, dst)
		c.Close()
	}
}

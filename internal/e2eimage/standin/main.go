// Command standin stands in for linkerd-proxy in the real-cluster tests. It
// listens on the inbound (4143) and outbound (4140) proxy ports and answers
// every connection with one line, "proxy PORT ORIGDST", where ORIGDST is the
// destination the client originally connected to, read with SO_ORIGINAL_DST
// as the real proxy does. A test that reads that line knows the connection
// was redirected, by which rule (the port), and that conntrack remembered the
// right destination. It runs as the proxy's uid (2102), whose own traffic the
// rules exempt.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/proxy-init/netlink-native/internal/origdst"
)

func main() {
	ports := flag.String("ports", "4143,4140", "comma-separated TCP ports to listen on (all addresses)")
	flag.Parse()
	for _, p := range strings.Split(*ports, ",") {
		// One socket per family: on a dual-stack socket an IPv4 client is
		// an IPv4-mapped IPv6 peer, and IP6T_SO_ORIGINAL_DST, which
		// origdst asks an AF_INET6 socket, finds no IPv4 conntrack entry.
		ln, err := net.Listen("tcp4", "0.0.0.0:"+p)
		if err != nil {
			log.Fatalf("standin: listen on port %s: %v", p, err)
		}
		log.Printf("standin: listening on %s", ln.Addr())
		go serve(ln, p)
		if ln6, err := net.Listen("tcp6", "[::]:"+p); err == nil {
			go serve(ln6, p)
		}
	}
	select {}
}

func serve(ln net.Listener, port string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("standin: accept on %s: %v", port, err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go answer(c.(*net.TCPConn), port)
	}
}

func answer(c *net.TCPConn, port string) {
	defer c.Close()
	dst, err := origdst.Get(c)
	if err != nil {
		// Not redirected (no conntrack NAT entry): the local address is the
		// destination, and saying so lets a test see the bypass.
		dst = netip.MustParseAddrPort(c.LocalAddr().String())
	}
	log.Printf("standin: %s -> port %s, original destination %s", c.RemoteAddr(), port, dst)
	fmt.Fprintf(c, "proxy %s %s\n", port, dst)
}

// Command app is the plain application of the real-cluster tests. As a
// server (-listen) it reads one line per connection and answers one line:
//
//	HELLO        -> "app HOSTNAME LOCALADDR"
//	DIAL ADDR    -> "dialed LINE", LINE being the first line ADDR answered
//	                (or "error ..."): the test's way to make the pod open
//	                an outbound connection, which the rules send to the proxy
//
// With -dial ADDR it is a one-shot client instead: it sends HELLO to ADDR,
// prints the answer and exits (0 on an answer, 1 otherwise), for a client
// pod whose log a test reads.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "8080,9090", "comma-separated TCP ports to serve on (all addresses)")
	dial := flag.String("dial", "", "one-shot client: send HELLO to this address, print the answer, exit")
	flag.Parse()
	if *dial != "" {
		line, err := exchange(*dial, "HELLO")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(line)
		return
	}
	for _, p := range strings.Split(*listen, ",") {
		ln, err := net.Listen("tcp", ":"+p)
		if err != nil {
			log.Fatalf("app: listen on port %s: %v", p, err)
		}
		go serve(ln)
	}
	select {}
}

// exchange sends one line to addr and returns the first line it answers.
func exchange(addr, line string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintln(c, line); err != nil {
		return "", err
	}
	s, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read the answer of %s: %w", addr, err)
	}
	return strings.TrimSpace(s), nil
}

func serve(ln net.Listener) {
	host, _ := os.Hostname()
	for {
		c, err := ln.Accept()
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			req, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return
			}
			req = strings.TrimSpace(req)
			switch {
			case strings.HasPrefix(req, "DIAL "):
				ans, err := exchange(strings.TrimPrefix(req, "DIAL "), "HELLO")
				if err != nil {
					fmt.Fprintln(c, "error", err)
					return
				}
				fmt.Fprintln(c, "dialed", ans)
			default:
				fmt.Fprintln(c, "app", host, c.LocalAddr())
			}
		}(c)
	}
}

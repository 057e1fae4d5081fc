// Command demo is `make demo`: proxy-init redirecting real connections in a
// throwaway pod/peer pair of network namespaces. The namespaces, the veth
// pair and the listeners (stand-in proxies and applications that answer
// with the original destination they read with SO_ORIGINAL_DST) are the
// tests' own, from internal/topology: one copy of each mechanism. The
// rules are installed, shown, verified and removed by the proxy-init
// binary, as an operator would run it. Nothing touches the host's own
// namespace, and everything is deleted on exit, also on failure or Ctrl-C.
package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/proxy-init/netlink-native/internal/topology"
	"golang.org/x/sys/unix"
)

func main() {
	bin := "bin/proxy-init"
	if len(os.Args) > 1 {
		bin = os.Args[1]
	}
	tb := newTB(os.Stderr)
	// Ctrl-C or a kill: delete what was made, then go.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		tb.cleanup()
		os.Exit(130)
	}()
	code := tb.run(func() error { return demo(tb, os.Stdout, bin, useColor(os.Stdout, os.Getenv("NO_COLOR"))) })
	os.Exit(code)
}

// useColor: bold headings only on a terminal, and never with NO_COLOR set
// (https://no-color.org), so a log or a pipe gets plain text.
func useColor(f *os.File, noColor string) bool {
	if noColor != "" {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// The ports of the demo: the proxy's (Linkerd's defaults), the
// application's, one ignored inbound port with an application behind it,
// and the peer's service.
const (
	inboundProxy, outboundProxy = 4143, 4140
	appPort, ignoredPort        = 8080, 4191
	servicePort                 = 80
	appUID, proxyUID            = 1000, 2102
)

func demo(tb *demoTB, w io.Writer, bin string, color bool) error {
	step := func(format string, args ...any) {
		h := fmt.Sprintf(format, args...)
		if color {
			h = "\033[1m" + h + "\033[0m"
		}
		fmt.Fprintf(w, "\n== %s\n", h)
	}
	proxyInit := func(args ...string) error {
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
		}
		return nil
	}

	tp := topology.New(tb)
	netns := []string{"--netns", tp.PodPath()}
	rules := append(netns, "--inbound-ports-to-ignore", "4190,4191")
	step("namespaces %s (%s, %s) and %s (%s, %s), joined by a veth pair",
		tp.PodName(), tp.PodAddr4, tp.PodAddr6, tp.PeerName(), tp.PeerAddr4, tp.PeerAddr6)

	step("listeners: the proxy on %d (inbound) and %d (outbound), an app on %d and %d in the pod, a service on %d in the peer",
		inboundProxy, outboundProxy, appPort, ignoredPort, servicePort)
	tp.ListenProxy("proxy-inbound", inboundProxy)
	tp.ListenProxy("proxy-outbound", outboundProxy)
	tp.Listen(topology.Pod, "app", appPort)
	tp.Listen(topology.Pod, "app", ignoredPort)
	tp.Listen(topology.Peer, "peer-service", servicePort)

	connect := func(what string, from topology.NS, dst netip.AddrPort, uid uint32) {
		step("%s", what)
		o := tp.Dial(from, topology.DialOptions{Dst: dst, UID: uid, GID: uid})
		if o.Result == "ok" {
			fmt.Fprintf(w, "answered by %s, original destination %s\n", o.Listener, o.OrigDst)
		} else {
			fmt.Fprintf(w, "(no answer: %s)\n", o.Result)
		}
	}
	pod4 := netip.AddrPortFrom(tp.PodAddr4, appPort)

	connect(fmt.Sprintf("before proxy-init: peer -> %s reaches the app directly", pod4), topology.Peer, pod4, 0)

	step("%s %s", bin, strings.Join(rules, " "))
	if err := proxyInit(rules...); err != nil {
		return err
	}
	connect(fmt.Sprintf("inbound, IPv4: peer -> %s lands on the inbound proxy, which reads the original destination", pod4), topology.Peer, pod4, 0)
	connect(fmt.Sprintf("inbound, IPv6: peer -> %s", netip.AddrPortFrom(tp.PodAddr6, appPort)), topology.Peer, netip.AddrPortFrom(tp.PodAddr6, appPort), 0)
	ignored := netip.AddrPortFrom(tp.PodAddr4, ignoredPort)
	connect(fmt.Sprintf("inbound to an ignored port: peer -> %s bypasses the proxy and reaches the app", ignored), topology.Peer, ignored, 0)
	service := netip.AddrPortFrom(tp.PeerAddr4, servicePort)
	connect(fmt.Sprintf("outbound: the app (uid %d) -> %s lands on the outbound proxy", appUID, service), topology.Pod, service, appUID)
	connect(fmt.Sprintf("outbound as the proxy (uid %d) -> %s goes straight to the service", proxyUID, service), topology.Pod, service, proxyUID)
	loop := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), appPort)
	connect(fmt.Sprintf("loopback: the app -> %s is not redirected", loop), topology.Pod, loop, appUID)

	step("%s show: the rules read back over netlink, with the counters of the connections above", bin)
	if err := proxyInit(append([]string{"show"}, netns...)...); err != nil {
		return err
	}
	step("%s verify: the live rules match the configuration", bin)
	if err := proxyInit(append([]string{"verify"}, rules...)...); err != nil {
		return err
	}
	fmt.Fprintln(w, "verify: exit 0")
	step("%s remove: our tables are gone", bin)
	if err := proxyInit(append([]string{"remove"}, netns...)...); err != nil {
		return err
	}
	connect(fmt.Sprintf("after remove: peer -> %s reaches the app directly again", pod4), topology.Peer, pod4, 0)
	return nil
}

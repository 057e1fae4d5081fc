package origdst_test

import (
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/origdst"
	"github.com/proxy-init/netlink-native/nat/nattest"
)

// TestDualStackListenerIPv4Client: a proxy listening once on [::] gets its
// IPv4 clients as IPv4-mapped connections on an AF_INET6 socket; their
// conntrack entries are IPv4's, so the IPv6 option finds nothing. Get must
// ask by the connection's family, not the socket's.
func TestDualStackListenerIPv4Client(t *testing.T) {
	ns := nattest.New(t)
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Fatalf("nft (a test reference tool) is missing: %v", err)
	}
	// nft as a reference tool only: a REDIRECT of 127.0.0.1:9999 and
	// [::1]:9999 to the listener's port, in the throwaway namespace.
	const port = 15001
	rules := fmt.Sprintf(`table inet t {
	chain out { type nat hook output priority -100; policy accept;
		tcp dport 9999 redirect to :%d
	}
}`, port)
	cmd := exec.Command("nsenter", "--net="+ns.Path(), nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v: %s", err, out)
	}
	for _, tc := range []struct{ dial, want string }{
		{"127.0.0.1:9999", "127.0.0.1:9999"},
		{"[::1]:9999", "[::1]:9999"},
	} {
		var got netip.AddrPort
		err := ns.Do(func() error {
			ln, err := net.Listen("tcp", fmt.Sprintf("[::]:%d", port)) // dual-stack
			if err != nil {
				return err
			}
			defer ln.Close()
			c, err := net.Dial("tcp", tc.dial)
			if err != nil {
				return err
			}
			defer c.Close()
			a, err := ln.Accept()
			if err != nil {
				return err
			}
			defer a.Close()
			got, err = origdst.Get(a.(*net.TCPConn))
			return err
		})
		if err != nil {
			t.Fatalf("dial %s to a dual-stack listener: %v", tc.dial, err)
		}
		if got.String() != tc.want {
			t.Errorf("dial %s: original destination %s, want %s", tc.dial, got, tc.want)
		}
	}
}

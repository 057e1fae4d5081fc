package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
	"golang.org/x/sys/unix"
)

// TestDemo runs the whole demo into a buffer (not a terminal): no ANSI
// escapes; the ignored port's flow reaches the app, bypassing the proxy;
// and the counters are shown after the traffic, so they count it.
func TestDemo(t *testing.T) {
	testns.RequireRoot(t)
	bin, err := testns.BuildProxyInit(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tb := newTB(&out)
	if code := tb.run(func() error { return demo(tb, &out, bin, useColor(pipe(t), "")) }); code != 0 {
		t.Fatalf("demo exit %d:\n%s", code, out.String())
	}
	s := out.String()
	if strings.Contains(s, "\x1b") {
		t.Errorf("ANSI escape in output that is not a terminal:\n%q", s)
	}
	if !regexp.MustCompile(`ignored port: peer -> 192\.0\.2\.2:4191 .*\nanswered by app, original destination 192\.0\.2\.2:4191\n`).MatchString(s) {
		t.Errorf("the ignored port's flow does not reach the app directly:\n%s", s)
	}
	traffic, show := strings.Index(s, "== inbound, IPv4"), strings.Index(s, "show: ")
	if traffic < 0 || show < traffic {
		t.Fatalf("the rules are not shown after the traffic:\n%s", s)
	}
	for _, rule := range []string{"redirect-all-incoming-to-proxy-port", "ignore-port", "redirect-all-outgoing-to-proxy-port", "ignore-proxy-user-id"} {
		if !regexp.MustCompile(`counter packets [1-9][0-9]* bytes [0-9]+ \S.*"proxy-init/` + rule + `"`).MatchString(s[show:]) {
			t.Errorf("rule %s counted no packet in the listing after the traffic:\n%s", rule, s[show:])
		}
	}
}

func TestUseColor(t *testing.T) {
	if useColor(pipe(t), "") {
		t.Error("colour on a pipe")
	}
	// A terminal of the test's own (CI has none on stdout), so that both
	// answers are checked everywhere.
	tty := pty(t)
	if !useColor(tty, "") {
		t.Error("no colour on a terminal")
	}
	if useColor(tty, "1") {
		t.Error("colour with NO_COLOR set")
	}
}

// pty opens a new pseudo-terminal and returns its terminal end.
func pty(t *testing.T) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}

func pipe(t *testing.T) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return w
}

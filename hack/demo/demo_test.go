package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
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
	if tty, err := os.Open("/dev/tty"); err == nil {
		defer tty.Close()
		if useColor(tty, "1") {
			t.Error("colour with NO_COLOR set")
		}
	}
}

func pipe(t *testing.T) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return w
}

//go:build linux

package kernel_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/proxy-init/netlink-native/internal/testns"
)

// concurrentConfigs are eight different configurations, as proxy-init flags.
// They differ in ports, ids, sets (present, absent, sizes) and families, so
// that any mix of two of them is visible in the listing.
var concurrentConfigs = [][]string{
	{},
	{"--incoming-proxy-port", "5143", "--outgoing-proxy-port", "5140"},
	{"--proxy-uid", "1000", "--proxy-gid", "1000"},
	{"--ports-to-redirect", "80,443,8080-8090"},
	{"--inbound-ports-to-ignore", "4190,4191", "--outbound-ports-to-ignore", "25,587"},
	{"--subnets-to-ignore", "10.0.0.0/8,fd00::/8", "--outbound-subnets-to-ignore", "192.168.0.0/16"},
	{"--ipv6=false", "--ports-to-redirect", "9000-9100"},
	{"--ipv6=false", "--proxy-uid", "0", "--subnets-to-ignore", "172.16.0.0/12,100.64.0.0/10"},
}

// TestConcurrentProcessesLeaveOneCompleteConfiguration starts eight
// proxy-init processes with different configurations into one namespace at
// the same instant, twenty rounds in a row. Even rounds start from a fresh
// namespace (all race the exclusive create), odd rounds from the previous
// round's result (all race the conditional replace). After each round the
// ruleset must equal, byte for byte, the ruleset a lone run of one of the
// eight leaves in a fresh namespace, and verify with that configuration
// must agree.
func TestConcurrentProcessesLeaveOneCompleteConfiguration(t *testing.T) {
	bin, err := testns.BuildProxyInit(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 20
	n := len(concurrentConfigs)

	// What a lone run of each configuration leaves in a fresh namespace.
	want := make([]string, n)
	for i, flags := range concurrentConfigs {
		ns := testns.New(t)
		if out, err := exec.Command(bin, append([]string{"--netns", ns.Path()}, flags...)...).CombinedOutput(); err != nil {
			t.Fatalf("lone run of config %d: %v\n%s", i, err, out)
		}
		want[i] = ns.Ruleset(t)
		for j := range i {
			if want[j] == want[i] {
				t.Fatalf("configs %d and %d give the same ruleset; the test needs distinct ones", j, i)
			}
		}
	}

	var ns *testns.NS
	winners := make([]int, n)
	retries := 0
	for round := range rounds {
		if round%2 == 0 {
			ns = testns.New(t)
		}
		outs := startTogether(t, bin, ns, concurrentConfigs)
		installed := 0
		for i, o := range outs {
			if o.err != nil {
				t.Fatalf("round %d: process %d (config %v) failed: %v\n%s", round, i, concurrentConfigs[i], o.err, o.stderr)
			}
			if strings.Contains(o.stderr, `msg="installed rules"`) {
				installed++
			}
			retries += strings.Count(o.stderr, "ruleset changed during apply")
		}
		if round%2 == 0 && installed != 1 {
			t.Errorf("round %d: %d processes report a fresh install into a fresh namespace, want exactly 1", round, installed)
		}

		got := ns.Ruleset(t)
		winner := -1
		for i := range want {
			if got == want[i] {
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: the ruleset is not that of any single configuration:\n%s", round, got)
		}
		winners[winner]++
		verify := exec.Command(bin, append([]string{"verify", "--netns", ns.Path()}, concurrentConfigs[winner]...)...)
		if out, err := verify.CombinedOutput(); err != nil {
			t.Fatalf("round %d: verify with the installed config %d: %v\n%s", round, winner, err, out)
		}
		other := (winner + 1) % n
		verify = exec.Command(bin, append([]string{"verify", "--netns", ns.Path()}, concurrentConfigs[other]...)...)
		if err := verify.Run(); exitCode(err) != 3 {
			t.Fatalf("round %d: verify with config %d, which is not installed: %v, want exit 3", round, other, err)
		}
	}
	t.Logf("rounds won per config: %v; conditional replaces retried after a concurrent commit: %d", winners, retries)
}

type procResult struct {
	err    error
	stderr string
}

// startTogether runs one proxy-init per configuration into ns, all released
// at the same instant: each process first reports on fd 3 that it is ready
// and then waits for a line on its stdin; once all are ready, one write
// gives each of them its line.
func startTogether(t *testing.T, bin string, ns *testns.NS, configs [][]string) []procResult {
	t.Helper()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	goR, goW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer goW.Close()
	cmds := make([]*exec.Cmd, len(configs))
	bufs := make([]*bytes.Buffer, len(configs))
	for i, flags := range configs {
		args := append([]string{"-c", `printf r >&3; exec 3>&-; read _; exec "$@"`, "sh", bin, "--log-level=debug", "--netns", ns.Path()}, flags...)
		cmds[i] = exec.Command("sh", args...)
		bufs[i] = &bytes.Buffer{}
		cmds[i].Stdin, cmds[i].Stderr, cmds[i].ExtraFiles = goR, bufs[i], []*os.File{readyW}
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	readyW.Close()
	goR.Close()
	if _, err := io.ReadFull(readyR, make([]byte, len(configs))); err != nil {
		t.Fatalf("waiting for the processes to be ready: %v", err)
	}
	if _, err := goW.Write(bytes.Repeat([]byte("\n"), len(configs))); err != nil {
		t.Fatal(err)
	}
	out := make([]procResult, len(configs))
	var wg sync.WaitGroup
	for i := range cmds {
		wg.Go(func() {
			err := cmds[i].Wait()
			if err != nil {
				err = fmt.Errorf("%w (exit %d)", err, exitCode(err))
			}
			out[i] = procResult{err, bufs[i].String()}
		})
	}
	wg.Wait()
	return out
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/proxy-init/netlink-native/internal/topology"
	"golang.org/x/sys/unix"
)

// The datapath topology (internal/topology): a pod namespace and a peer
// namespace joined by a veth pair, addresses from TEST-NET-1, so nothing but
// the two namespaces can ever see a packet. The addresses are the
// topology's (r.topology checks), named here for the report.
const (
	podAddr   = "192.0.2.2"
	peerAddr  = "192.0.2.1"
	proxyPort = 4143 // the seed's inbound proxy port, where the redirect sends connections
	appPort   = 8080 // what the peer dials: only the redirect makes it reach the proxy
)

type dpConfig struct {
	key, label string
	install    []string // run in the pod namespace; nil: no rules
	dialPort   int
}

// Section 4: new-connection rate through the inbound redirect. Each
// configuration gets its own pod/peer pair with its rules installed once;
// then the rounds alternate between the configurations so that noise on the
// shared machine spreads over all of them.
func (r *runner) sectionDatapath() error {
	subnets := v4Only(subnetEntries(4096))
	// IPv4 only, the traffic being IPv4; a boolean flag takes its value
	// after "=" in pflag, as its own word in the reference script.
	ours, ref := []string{r.bin, "--ipv6=false"}, []string{r.ref, "--ipv6", "false"}
	with := func(installer []string, extra ...string) []string {
		return append(append(slices.Clone(installer), r.base...), extra...)
	}
	many := listFlag("--subnets-to-ignore", subnets)
	cfgs := []dpConfig{
		{"none", "no rules, peer dials the proxy port directly (reference)", nil, proxyPort},
		{"ours-0", "ours, 0 ignored subnets", with(ours), appPort},
		{"ours-4096", "ours, 4096 ignored subnets", with(ours, many...), appPort},
		{"iptables-0", "iptables-nft, 0 ignored subnets", with(ref), appPort},
		{"iptables-4096", "iptables-nft, 4096 ignored subnets", with(ref, many...), appPort},
	}
	rates := make([]Rate, len(cfgs))
	pods := make([]string, len(cfgs))
	peers := make([]string, len(cfgs))
	for i, c := range cfgs {
		rates[i] = Rate{Key: c.key, Label: c.label}
		pod, peer, err := r.topology()
		if err != nil {
			return err
		}
		pods[i], peers[i] = pod, peer
		if c.install != nil {
			start := time.Now()
			if out, err := nsExec(pods[i], c.install...); err != nil {
				return fmt.Errorf("%s: install: %w: %s", c.key, err, out)
			}
			rates[i].Install = float64(time.Since(start).Microseconds()) / 1e3
			logf("   %s: rules installed in %.0f ms", c.key, rates[i].Install)
		}
		if err := r.startServer(pods[i]); err != nil {
			return fmt.Errorf("%s: %w", c.key, err)
		}
	}
	// Many short runs rather than a few long ones: the machine is shared,
	// and two configurations measured within a second of each other see
	// nearly the same background load, so the report can compare them run
	// by run (paired ratios). Every other round runs the configurations in
	// reverse order, so neither of a pair always goes first.
	rounds, dur, maxConns := r.p.DPRounds, r.p.DPRun.String(), fmt.Sprint(r.p.DPMaxConns)
	for round := -1; round < rounds; round++ {
		order := make([]int, len(cfgs))
		for i := range order {
			order[i] = i
		}
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			c := cfgs[i]
			if rates[i].Err != "" {
				continue
			}
			d, m := dur, maxConns
			if round < 0 { // warm-up, not recorded
				d, m = r.p.DPWarmRun.String(), fmt.Sprint(r.p.DPWarmConns)
			}
			res, err := r.dial(peers[i], fmt.Sprintf("%s:%d", podAddr, c.dialPort), d, m)
			if err != nil {
				rates[i].Err = err.Error()
				logf("   %s: %v", c.key, err)
				continue
			}
			if round < 0 {
				continue
			}
			rates[i].PerSec = append(rates[i].PerSec, float64(res.Conns)/res.Secs)
			rates[i].Conns = append(rates[i].Conns, res.Conns)
			rates[i].Errors += res.Errors
		}
		if round >= 0 && ((round+1)%10 == 0 || round+1 == rounds) {
			var parts []string
			for i := range cfgs {
				parts = append(parts, fmt.Sprintf("%s %.0f/s", cfgs[i].key, median(rates[i].PerSec)))
			}
			logf("   round %d/%d: %s", round+1, rounds, strings.Join(parts, ", "))
		}
	}
	r.res.Datapath = rates
	// The redirect must have carried the traffic: the proxy port has no
	// listener on the app port, so a connection that was not redirected
	// would have been refused (counted as an error above).
	checked := slices.IndexFunc(cfgs, func(c dpConfig) bool { return c.key == "ours-4096" })
	if out, err := nsExec(pods[checked], "nft", "list", "chain", "ip", "proxy_init", "PROXY_INIT_REDIRECT"); err == nil {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "redirect to") {
				r.res.DPCheck = "ours-4096, the redirect rule after the run: `" + strings.TrimSpace(l) + "`"
			}
		}
	}
	return nil
}

// topology makes the pod and peer namespaces and the veth between them with
// internal/topology, the one pod/peer builder the tests use too (addresses
// from TEST-NET-1 and the IPv6 documentation range, DAD off, both ends
// ready), and returns their paths (this process's descriptors, for nsenter
// --net); they are closed when the run ends.
func (r *runner) topology() (pod, peer string, err error) {
	tp, err := topology.Create()
	if err != nil {
		return "", "", err
	}
	r.cleanups = append(r.cleanups, func() { _ = tp.Close() })
	if tp.PodAddr4.String() != podAddr || tp.PeerAddr4.String() != peerAddr {
		return "", "", fmt.Errorf("topology addresses %s/%s, the report says %s/%s", tp.PodAddr4, tp.PeerAddr4, podAddr, peerAddr)
	}
	// More ephemeral ports for the client: each connection ends with a
	// reset, so none lingers in TIME_WAIT, but a wide range keeps 4-tuples
	// from being reused within one run.
	if out, err := tp.Command(topology.Peer, "sh", "-c", "echo 1024 65535 > /proc/sys/net/ipv4/ip_local_port_range").CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("port range: %w: %s", err, out)
	}
	return tp.PodPath(), tp.Path(topology.Peer), nil
}

// nsExec runs argv in the namespace at path (nsenter --net).
func nsExec(path string, argv ...string) (string, error) {
	out, err := exec.Command("nsenter", append([]string{"--net=" + path}, argv...)...).CombinedOutput()
	return string(out), err
}

// startServer runs `bench serve` in the pod namespace until the run ends.
func (r *runner) startServer(pod string) error {
	cmd := exec.Command("nsenter", "--net="+pod, r.self, "serve", "-port", fmt.Sprint(proxyPort))
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cleanups = append(r.cleanups, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		return fmt.Errorf("server did not start: %q %v", line, err)
	}
	return nil
}

type dialResult struct {
	Conns    int     `json:"conns"`
	Secs     float64 `json:"secs"`
	Errors   int     `json:"errors"`
	FirstErr string  `json:"first_err,omitempty"`
}

func (r *runner) dial(peer, addr, dur, maxConns string) (dialResult, error) {
	cmd := exec.Command("nsenter", "--net="+peer, r.self, "dial", "-addr", addr, "-dur", dur, "-max", maxConns)
	cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return dialResult{}, fmt.Errorf("dial: %w", err)
	}
	var res dialResult
	if err := json.Unmarshal(out, &res); err != nil {
		return res, err
	}
	if res.Conns == 0 {
		return res, fmt.Errorf("no connection succeeded: %s", res.FirstErr)
	}
	return res, nil
}

// cmdServe accepts connections, writes one byte to each and closes it. It
// prints "ready" once listening and runs until killed.
func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	port := fs.Int("port", proxyPort, "port to listen on (all IPv4 addresses)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	runtime.LockOSThread()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: *port}); err != nil {
		return err
	}
	if err := unix.Listen(fd, 4096); err != nil {
		return err
	}
	fmt.Println("ready")
	one := []byte{'x'}
	for {
		nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
				continue
			}
			return err
		}
		_, _ = unix.Write(nfd, one)
		_ = unix.Close(nfd)
	}
}

// cmdDial is the client loop: connect, read the server's byte, close with a
// reset (no TIME_WAIT), until -max connections or -dur, whichever first. It
// prints a dialResult. Blocking system calls on one locked thread: no poller
// in the way.
func cmdDial(args []string) error {
	fs := flag.NewFlagSet("dial", flag.ContinueOnError)
	addr := fs.String("addr", "", "IPv4 address:port to connect to")
	dur := fs.Duration("dur", 2*time.Second, "time bound")
	maxConns := fs.Int("max", 60000, "count bound")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil || !ap.Addr().Is4() {
		return fmt.Errorf("-addr %q: want IPv4 address:port", *addr)
	}
	sa := &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	runtime.LockOSThread()

	var res dialResult
	once := func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		if err := retryEINTR(func() error { return unix.Connect(fd, sa) }); err != nil {
			return err
		}
		buf := make([]byte, 1)
		return retryEINTR(func() error {
			n, err := unix.Read(fd, buf)
			if err == nil && n != 1 {
				err = errors.New("connection closed before the server's byte")
			}
			return err
		})
	}
	// The first connection may race the link coming up: retry it briefly.
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := once()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			res.FirstErr = err.Error()
			return json.NewEncoder(os.Stdout).Encode(res)
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	end := start.Add(*dur)
	for res.Conns < *maxConns {
		if res.Conns%16 == 0 && time.Now().After(end) {
			break
		}
		if err := once(); err != nil {
			res.Errors++
			if res.FirstErr == "" {
				res.FirstErr = err.Error()
			}
			if res.Errors > 100 {
				break
			}
			continue
		}
		res.Conns++
	}
	res.Secs = time.Since(start).Seconds()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// retryEINTR retries a system call interrupted by a signal. A connect that
// was interrupted goes on in the kernel, so EALREADY then means "still
// connecting" and EISCONN "done".
func retryEINTR(f func() error) error {
	for {
		err := f()
		switch {
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EALREADY):
			continue
		case errors.Is(err, unix.EISCONN):
			return nil
		}
		return err
	}
}

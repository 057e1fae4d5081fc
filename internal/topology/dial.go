package topology

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/proxy-init/netlink-native/internal/netns"
	"golang.org/x/sys/unix"
)

// DefaultTimeout bounds a Dial whose options give no timeout: long enough
// for a loaded CI machine, short enough that a dropped SYN fails fast.
const DefaultTimeout = time.Second

// DialOptions describe one client connection.
type DialOptions struct {
	// Dst is where the client connects.
	Dst netip.AddrPort
	// UID and GID the socket is created with; 0 keeps the test's own (root).
	// They are what `meta skuid` / `meta skgid` and `-m owner` match.
	UID, GID uint32
	// Timeout covers connect and reading the answer; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Outcome is what a client saw. It is comparable, so tests can compare it
// with an expected value directly.
type Outcome struct {
	// Listener and OrigDst are the answer of a listener of this package
	// (Result "ok"); OrigDst is in netip.AddrPort form, like "[::1]:80".
	Listener, OrigDst string
	// Result is "ok", "refused", "timeout" or "error: <text>".
	Result string
}

// Refused and TimedOut are the outcomes of a rejected and of a dropped
// connection.
var (
	Refused  = Outcome{Result: "refused"}
	TimedOut = Outcome{Result: "timeout"}
)

// Answer is the outcome of reaching listener name with original destination dst.
func Answer(name string, dst netip.AddrPort) Outcome {
	return Outcome{Listener: name, OrigDst: dst.String(), Result: "ok"}
}

func (o Outcome) String() string {
	if o.Result == "ok" {
		return o.Listener + " " + o.OrigDst
	}
	return o.Result
}

// Dial connects from namespace ns and reports who answered. It never fails
// the test: an unexpected outcome is for the caller to judge.
func (tp *Topology) Dial(ns NS, opts DialOptions) Outcome {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var conn net.Conn
	var saved fsIDs
	// fsuid and fsgid are per thread: set them on the locked thread and put
	// them back before the thread is handed back to the scheduler.
	err := netns.DoUndo(tp.FD(ns), func() error {
		saved = currentFSIDs()
		want := saved
		if opts.UID != 0 {
			want.uid = opts.UID
		}
		if opts.GID != 0 {
			want.gid = opts.GID
		}
		if err := want.set(); err != nil {
			return err
		}
		// socket(2) runs on this thread, so the socket's file gets this
		// thread's credentials; connect may finish later on the poller.
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", opts.Dst.String())
		conn = c
		return err
	}, func() error { return saved.set() })
	if err != nil {
		if conn != nil { // connected, but the thread could not be reset
			conn.Close()
		}
		return failure(err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Outcome{Result: "error: closed without an answer"}
		}
		return failure(err)
	}
	name, dst, _ := strings.Cut(strings.TrimSpace(line), " ")
	return Outcome{Listener: name, OrigDst: dst, Result: "ok"}
}

// fsIDs are a thread's fsuid and fsgid. The kernel takes a socket's owner
// (`meta skuid`/`skgid`, `-m owner`) from them, not from the real or
// effective ids, and unlike setuid(2) they are per thread: Go's syscall.Setuid
// changes every thread of the process, setfsuid(2) only the caller.
type fsIDs struct{ uid, gid uint32 }

// currentFSIDs reads the ids back: setfsuid(2) returns the previous value and
// an invalid id (-1) changes nothing, which is the documented way to ask.
func currentFSIDs() fsIDs {
	uid, _ := unix.SetfsuidRetUid(-1)
	gid, _ := unix.SetfsgidRetGid(-1)
	return fsIDs{uint32(uid), uint32(gid)}
}

// set changes both ids and checks they took: setfsuid reports no error for a
// refused change, only the old value. Leaving fsuid 0 drops just the
// file-system capabilities, not CAP_SETUID/CAP_SETGID, so the old ids can
// always be set back.
func (ids fsIDs) set() error {
	_, _ = unix.SetfsgidRetGid(int(ids.gid))
	_, _ = unix.SetfsuidRetUid(int(ids.uid))
	if cur := currentFSIDs(); cur != ids {
		return fmt.Errorf("set fsuid/fsgid %d/%d: thread has %d/%d", ids.uid, ids.gid, cur.uid, cur.gid)
	}
	return nil
}

func failure(err error) Outcome {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return TimedOut
	}
	return Outcome{Result: "error: " + err.Error()}
}

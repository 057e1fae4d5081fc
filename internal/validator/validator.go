// Package validator checks, from inside a pod's network namespace, that an
// ordinary process's outbound TCP really is redirected to the proxy's port:
// it listens where the proxy will, connects to an address that nothing else
// answers, and requires to read back a token only its own listener knows.
// It is the logic of `proxy-init validate`, a drop-in for Linkerd's
// linkerd-network-validator, and needs no capabilities.
package validator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Defaults are upstream's: the proxy's outbound port on every address, and
// a TEST-NET-1 address that no real network routes to.
var (
	DefaultListen  = netip.MustParseAddrPort("0.0.0.0:4140")
	DefaultConnect = netip.MustParseAddrPort("192.0.2.2:1404")
)

// DefaultTimeout is upstream's bound on the whole check.
const DefaultTimeout = 10 * time.Second

// Options say where to listen and where to connect.
type Options struct {
	// Listen is where redirected connections must arrive: the proxy's
	// outbound port (0.0.0.0:4140, or [::]:4140 for IPv6).
	Listen netip.AddrPort
	// Connect is any address the rules redirect and nothing else answers.
	Connect netip.AddrPort
	// Logger receives the steps at debug level; nil discards them.
	Logger *slog.Logger
}

// Error is a step of the check that failed. Err is the cause: when the
// context ended first, it is context.Cause of it (context.DeadlineExceeded
// for a timeout, the cancel cause otherwise), so callers tell a timeout or a
// signal from a refused connection with errors.Is, not by reading text.
type Error struct {
	Step string // "listen on", "connect to" or "read from"
	Addr netip.AddrPort
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("%s %s: %v", e.Step, e.Addr, e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// Step names, for Error.Step.
const (
	StepListen  = "listen on"
	StepConnect = "connect to"
	StepRead    = "read from"
)

// MismatchError: the connection reached something that is not our listener
// (the rules are missing and a real server answered, or something else
// holds the redirect target).
type MismatchError struct {
	Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("expected to read our token %q; got %q instead", e.Want, e.Got)
}

// Run performs the check once and returns nil when the connection to
// opts.Connect was answered by our own listener on opts.Listen. It stops
// when ctx ends; every socket it made is closed when it returns.
//
// The sockets are created by the calling goroutine (listen, then connect),
// so a caller that runs Run on a thread inside another network namespace
// gets both there; connections the listener accepts stay in its namespace.
func Run(ctx context.Context, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Bound first: a connection redirected before the listener exists
	// would be refused, and that would look like missing rules.
	ln, err := listen(ctx, opts.Listen)
	if err != nil {
		return &Error{StepListen, opts.Listen, causeOf(ctx, err)}
	}
	log.Debug("listening", "addr", opts.Listen)
	token, err := newToken()
	if err != nil {
		ln.Close()
		return err
	}
	log.Debug("token", "token", token)
	srv := serve(ln, token, log)
	defer srv.stop()

	log.Debug("connecting", "addr", opts.Connect)
	got, err := fetch(ctx, opts.Connect, len(token), log)
	if err != nil {
		return err
	}
	if got != token {
		return &MismatchError{Want: token, Got: got}
	}
	return nil
}

// listen binds addr as upstream does: tcp4 for an IPv4 address (Go's "tcp"
// would bind 0.0.0.0 as a dual-stack IPv6 socket), and for an IPv6 address
// Go's default, which for [::] is dual-stack like upstream's tokio socket.
func listen(ctx context.Context, addr netip.AddrPort) (net.Listener, error) {
	network := "tcp"
	if addr.Addr().Unmap().Is4() {
		network = "tcp4"
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, network, addr.String())
}

// fetch connects to addr and reads exactly n bytes, or what came before the
// peer closed. The read is bounded by ctx: ending ctx unblocks it.
func fetch(ctx context.Context, addr netip.AddrPort, n int, log *slog.Logger) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return "", &Error{StepConnect, addr, causeOf(ctx, err)}
	}
	defer c.Close()
	log.Debug("connected", "local", c.LocalAddr().String())
	stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, n)
	got, err := io.ReadFull(c, buf)
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// A short answer is a mismatch, which shows what did answer.
		log.Debug("read", "bytes", got)
		return string(buf[:got]), nil
	}
	return "", &Error{StepRead, addr, causeOf(ctx, err)}
}

// causeOf replaces err by the reason ctx ended, if it has: the net package
// reports an ended context as its own timeout or cancel error, which says
// neither that it was our deadline nor which signal cancelled us. A socket
// deadline here only ever comes from ctx (the dialer copies ctx's deadline
// onto the socket, and the read deadline is set when ctx ends), but the
// poller's timer may fire a moment before ctx's own: then ctx is about to
// end, and waiting for it gives the true cause.
func causeOf(ctx context.Context, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// server writes the token to every connection it accepts and closes it.
type server struct {
	ln net.Listener
	wg sync.WaitGroup
}

func serve(ln net.Listener, token string, log *slog.Logger) *server {
	s := &server{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// Transient (ECONNABORTED, EMFILE): keep accepting, slowly.
				log.Debug("accept", "error", err)
				time.Sleep(10 * time.Millisecond)
				continue
			}
			s.wg.Go(func() {
				defer c.Close()
				log.Debug("accepted", "client", c.RemoteAddr().String())
				// A few bytes into a fresh socket's send buffer: the write
				// completes at once, but never let a stuck peer hold stop().
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := io.WriteString(c, token); err != nil {
					log.Debug("write token", "client", c.RemoteAddr().String(), "error", err)
				}
			})
		}
	})
	return s
}

// stop closes the listener and waits for the answers in flight.
func (s *server) stop() {
	s.ln.Close()
	s.wg.Wait()
}

package topology

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Do runs fn on an OS thread that has joined namespace ns, and waits for it.
// Sockets that fn creates stay in ns after fn returns. fn runs on a goroutine
// of its own, so it must not call t.Fatal (use the returned error); a panic in
// fn is re-raised in the caller.
func (tp *Topology) Do(ns NS, fn func() error) error {
	if err := onThreadIn(tp.FD(ns), fn, nil); err != nil {
		return fmt.Errorf("in namespace %s: %w", tp.Name(ns), err)
	}
	return nil
}

// onThreadIn runs fn on a fresh goroutine locked to its thread inside the
// namespace nsFD, then undo (if any) to reset other per-thread state fn
// changed. Setns changes only the calling thread, so the thread must not run
// other goroutines until it is back home. If undo or the way back fails, the
// thread stays locked: a goroutine that exits while locked takes its thread
// down with it, so the runtime never reuses a thread stranded in the wrong
// namespace. (That is the exception, not the plan: when the thread is the
// process's main thread the runtime cannot end it and parks it for good, and
// /proc/self/net and the namespace's lifetime would follow it.)
func onThreadIn(nsFD int, fn, undo func() error) error {
	type result struct {
		err      error
		panicked bool
		value    any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// thread-self, not self: /proc/self is the thread-group leader,
		// which may be elsewhere.
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("open current namespace: %w", err)}
			return
		}
		defer home.Close()
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // still at home: safe to reuse
			done <- result{err: fmt.Errorf("setns: %w", err)}
			return
		}
		var r result
		func() {
			defer func() {
				if v := recover(); v != nil {
					r.panicked, r.value = true, v
				}
			}()
			r.err = fn()
		}()
		clean := true
		if undo != nil {
			if err := undo(); err != nil {
				clean = false
				r.err = errors.Join(r.err, fmt.Errorf("reset thread (thread discarded): %w", err))
			}
		}
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			clean = false
			r.err = errors.Join(r.err, fmt.Errorf("return to original namespace (thread discarded): %w", err))
		}
		if clean {
			runtime.UnlockOSThread()
		}
		done <- r
	}()
	r := <-done
	if r.panicked {
		panic(r.value)
	}
	return r.err
}

// Run runs a command inside namespace ns and returns its stdout; its error
// carries the command line and stderr.
func (tp *Topology) Run(ns NS, name string, args ...string) (string, error) {
	return output(nil, "ip", append([]string{"netns", "exec", tp.Name(ns), name}, args...)...)
}

// RunInput is Run with stdin, for tools that read a script (nft -f -).
func (tp *Topology) RunInput(ns NS, stdin string, name string, args ...string) (string, error) {
	return output(strings.NewReader(stdin), "ip", append([]string{"netns", "exec", tp.Name(ns), name}, args...)...)
}

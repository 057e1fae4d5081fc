// Package oneproc runs the importing program on one processor (GOMAXPROCS
// 1) from the start of package initialisation, unless GOMAXPROCS is set in
// the environment. It is for short-lived processes that do one thing at a
// time, as the CNI plugin does: one process per pod, a few API requests in
// turn and one netlink transaction. A second processor gives such a process
// nothing to run in parallel, but every goroutine it readies (the HTTP
// transport's, the TLS handshake's, the netpoller's) wakes or starts another
// thread to look for work on the idle one: measured on the CNI plugin's ADD,
// a fifth of its context switches and about 0.4 ms of a 14 ms run
// (docs/performance.md).
//
// Import it for its side effect, from package main only. It imports nothing
// but the runtime and syscall, so Go's initialisation order (dependencies
// first, then by import path) runs it before the Kubernetes client's
// packages, whose initialisation already starts goroutines; set later, in
// main, the saving is less than half.
package oneproc

import (
	"runtime"
	"syscall"
)

func init() {
	if _, set := syscall.Getenv("GOMAXPROCS"); !set {
		runtime.GOMAXPROCS(1)
	}
}

// Package nattest helps users' own integration tests of code that programs
// a namespace with nat: it makes a throwaway network namespace that exists
// only while a file descriptor holds it (nothing mounted, nothing named, so
// nothing is left behind when a test fails, panics or is killed), runs
// functions inside it, and always cleans up. The host's own network
// namespace is never touched.
//
//	func TestMyInstaller(t *testing.T) {
//		ns := nattest.New(t) // skips unless root; fails instead under CI=true
//		c, err := kernel.Open(ctx, kernel.AtFD(ns.FD()), kernel.Options{})
//		...
//	}
//
// Creating a namespace needs root (CAP_SYS_ADMIN); for tests without root,
// use nat.Fake instead. The namespace helpers are Linux-only.
package nattest

// Package topology builds throwaway network namespaces for kernel tests: a
// "pod" namespace (where proxy-init's rules go) and a "peer" namespace (the
// rest of the network), joined by a veth pair, plus listeners that report
// what destination a connection was originally sent to and clients that can
// connect with a chosen fsuid/fsgid.
//
// Everything is created inside the test's own namespaces: the host's network
// namespace is never changed, and nothing is created under the host's /run.
// The namespaces are nat/nattest's (internal/netns.New underneath, the one
// namespace lifecycle): held by a file descriptor only, nothing named or
// mounted, so closing the descriptors (t.Cleanup, or Close for a topology
// made by Create outside a test, as internal/bench does) frees them, and a test
// process that dies before its cleanups (say after `go test -timeout`)
// leaves nothing behind to sweep. Other processes reach a namespace through
// Path, /proc/<our pid>/fd/<fd>: `nsenter --net=PATH` (Command, Run),
// proxy-init --netns PATH, and `ip link ... netns PATH`.
package topology

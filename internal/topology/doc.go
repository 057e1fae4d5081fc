// Package topology builds throwaway network namespaces for kernel tests: a
// "pod" namespace (where proxy-init's rules go) and a "peer" namespace (the
// rest of the network), joined by a veth pair, plus listeners that report
// what destination a connection was originally sent to and clients that can
// connect with a chosen fsuid/fsgid.
//
// Everything is created inside the test's own namespaces: the host's network
// namespace is never changed. Namespaces are named pit-<pid>-<n>-pod/peer and
// bind-mounted under /run/netns by iproute2, so `ip netns exec` and
// `ip -n` work on them; t.Cleanup (or Close, for a topology made by Create
// outside a test, as hack/bench does) deletes them, and New deletes leftovers of
// earlier test processes that died before their cleanup could run (for
// example after `go test -timeout`, whose panic skips cleanups).
//
// It is the one namespace lifecycle besides nat/nattest's (and
// internal/testns, its view for our tests), which holds a namespace by a
// descriptor only, with nothing named or mounted to leave behind. Topology
// names its namespaces because its users drive them with `ip netns exec`,
// `ip -n` and iptables-nft scripts by name; that costs the bind mounts
// under /run/netns (and a lock file in /run) and the sweeper. Moving it onto
// nattest's descriptors (`nsenter --net=/proc/PID/fd/N ip ...` instead of
// `ip -n NAME`, which takes names only; `ip link ... netns PATH` takes a
// path) would leave one lifecycle and nothing on the host's /run.
package topology

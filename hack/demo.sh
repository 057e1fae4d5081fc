#!/usr/bin/env bash
# make demo: proxy-init redirecting real connections, in throwaway network
# namespaces ("pod" and "peer" joined by a veth pair). Needs root and
# iproute2. The demo program (hack/demo) builds the namespaces, the veth
# pair and the listeners with the tests' own internal/topology, and runs
# the proxy-init binary against them; it deletes everything on exit, also
# on failure or Ctrl-C, and never touches the host's own namespace.
# Headings are bold on a terminal only, and never with NO_COLOR set.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/proxy-init}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Built from hack/ so that it works whether hack is its own module or not.
(cd hack && CGO_ENABLED=0 go build -o "$tmp/demo" ./demo)
"$tmp/demo" "$BIN"

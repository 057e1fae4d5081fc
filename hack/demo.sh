#!/usr/bin/env bash
# make demo: proxy-init redirecting real connections, in throwaway network
# namespaces ("pod" and "peer" joined by a veth pair). Needs root and
# iproute2. The demo program (internal/demo) builds the namespaces, the veth
# pair and the listeners with the tests' own internal/topology, and runs
# the proxy-init binary against them; it deletes everything on exit, also
# on failure or Ctrl-C, and never touches the host's own namespace.
# Headings are bold on a terminal only, and never with NO_COLOR set.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/proxy-init}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A package of the root module: it needs nothing but the product's own
# dependencies and its test helpers (internal/topology).
CGO_ENABLED=0 go build -o "$tmp/demo" ./internal/demo
"$tmp/demo" "$BIN"

#!/usr/bin/env bash
# hack/bench.sh: `make bench`. Measures bin/proxy-init against `nft -f` and the
# iptables-nft reference installer (hack/iptables-reference.sh) and writes
# bench/REPORT.md, its charts (bench/*.png and *.svg, drawn with gonum/plot) and
# bench/results.json. The measuring is done by the Go program internal/bench
# (root module: it drives the product through its internal packages), which
# also writes bench/charts.json, the figures of the charts; hack/benchplot (the
# hack/ module, so gonum stays out of the product's graph) draws the charts
# from that file. This script checks the prerequisites, builds both and runs
# them. Everything that touches the kernel happens in throwaway network
# namespaces (`unshare -n` per run, namespaces held by the harness's descriptors
# for the datapath and the front ends: nothing named or mounted under /run, gone
# when it exits); the host namespace is never changed.
#
# Needs root, Linux with nf_tables, and the Debian packages hack/deps.sh
# installs when they are missing (nftables, iptables, iproute2, util-linux,
# hyperfine, time). Go must be on PATH (it builds the
# harness and runs the Go benchmarks).
#
# Environment:
#   BENCH_QUICK=1        one or two repetitions per figure: a smoke test of the
#                        harness (the report says so), a few minutes (iptables-nft
#                        still runs once at every scale point)
#   BENCH_SECTIONS=1,2   only these sections (1 fresh, 2 re-apply, 3 scale,
#                        4 datapath, 5 memory, 6 Go benchmarks, 7 front ends:
#                        validate, explain, the CNI plugin; 8 the CNI node
#                        installer; 9 pod start on a real node, make e2e-bench,
#                        written to PODSTART.md)
#   BENCH_OUT=dir        where to write the report (default: bench)
#   BENCH_UPSTREAM_CNI=path  upstream's linkerd-cni plugin, built from source
#                        (linkerd2-proxy-init commit 183e791: `CGO_ENABLED=0 go build
#                        -trimpath -ldflags='-s -w' ./cni-plugin`): section 7 times it
#                        beside ours and reports the ratios; unset, those rows say
#                        "not measured in this run"
#   BENCH_UPSTREAM_CNI_INSTALL=path  upstream's linkerd2-cni-install, built from
#                        source (the same commit: `CGO_ENABLED=0 go build -trimpath
#                        -ldflags='-s -w' ./cni-install`): section 8 times it beside
#                        ours (reaction to a conflist rewrite and a token rotation,
#                        size, peak RSS); unset, the section says how
# A full run takes about 6 minutes on 2 cores (the report says how long).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (network namespaces and nf_tables); run: sudo make bench" >&2
	exit 1
fi
command -v go >/dev/null || {
	echo "bench: go is not on PATH" >&2
	exit 1
}

# What is missing, installed with apt-get (the same list make bench uses).
./hack/deps.sh bench || echo "bench: hack/deps.sh bench failed" >&2
# nft and iptables-nft are what we compare against: without them there is no
# benchmark. hyperfine and GNU time have fallbacks inside the harness (its
# own timing loop, wait4's rusage); the report says when they were used.
for cmd in nft iptables-nft ip6tables-nft ip unshare; do
	command -v "$cmd" >/dev/null || {
		echo "bench: $cmd not found; install the Debian packages nftables iptables iproute2 util-linux" >&2
		exit 1
	}
done
[ -x hack/iptables-reference.sh ] || {
	echo "bench: hack/iptables-reference.sh is missing" >&2
	exit 1
}
# Always rebuilt: the report is stamped with the commit, so it must not time
# a stale binary.
make build

tmp=$(mktemp -d)
cleanup() {
	# The harness's namespaces are held by its descriptors and end with it,
	# even when it is killed outright: nothing to delete here.
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The measurer is in the root module, the plotter in hack/ (its own Go
# module: plotting stays out of the product's graph). Building and running
# the benchmark must change neither module's files (a run once added 25
# lines to the root go.sum): checked after the run. -mod=readonly for every
# go command the run starts, whatever GOFLAGS the caller has (the last -mod
# wins).
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
modfiles=(go.mod go.sum hack/go.mod hack/go.sum)
modsum=$(cat "${modfiles[@]}" | cksum)
go build -o "$tmp/bench" ./internal/bench
go build -C hack -o "$tmp/benchplot" ./benchplot
args=(run -bin bin/proxy-init -ref hack/iptables-reference.sh -out "${BENCH_OUT:-bench}")
[ -n "${BENCH_QUICK:-}" ] && args+=(-quick)
# Section 9 is not the Go program's (below); BENCH_SECTIONS=9 alone leaves
# REPORT.md as it is.
go_sections=$(echo "${BENCH_SECTIONS:-}" | tr , '\n' | grep -vx 9 | paste -sd, || true)
[ -n "${BENCH_SECTIONS:-}" ] && args+=(-sections "$go_sections")
if [ -z "${BENCH_SECTIONS:-}" ] || [ -n "$go_sections" ]; then
	"$tmp/bench" "${args[@]}"
	echo "bench: wrote ${BENCH_OUT:-bench}/REPORT.md" >&2
	# The charts the report links, from the charts.json the run wrote.
	"$tmp/benchplot" -out "${BENCH_OUT:-bench}"
fi
if [ "$(cat "${modfiles[@]}" | cksum)" != "$modsum" ]; then
	echo "bench: the run changed a module's files (git diff ${modfiles[*]}): the benchmark must build from the module files as they are" >&2
	exit 1
fi

# Section 9, pod start on a real node, lives in the e2e module (it boots
# the single-node cluster of make e2e; the first run builds Kubernetes):
# its table goes beside the report, in PODSTART.md.
if [ -z "${BENCH_SECTIONS:-}" ] || [[ ",$BENCH_SECTIONS," == *,9,* ]]; then
	rounds=15
	[ -n "${BENCH_QUICK:-}" ] && rounds=2
	out="${BENCH_OUT:-bench}/PODSTART.md"
	make --no-print-directory e2e-bench E2E_BENCH_ROUNDS=$rounds | tee "$tmp/podstart.log"
	{
		echo "# Pod start on a real node (section 9 of make bench)"
		echo
		echo "Run $(date -u +%Y-%m-%dT%H:%MZ) at $(git describe --always --dirty), $rounds interleaved rounds, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
		echo "Apply (Create returned) to Ready on the single-node cluster of make e2e (docs/e2e.md); medians. Each pod"
		echo "starts once the last one's sandbox has stopped (its CNI DEL done), so no start shares the node with a teardown."
		echo "Goals (issue 17): the CNI plugin adds at most 5% to an unmeshed pod's start; CNI mode starts a"
		echo "meshed pod faster than init-container mode."
		echo
		grep '^|' "$tmp/podstart.log"
		echo
		grep '^Resolution:' "$tmp/podstart.log" || true
	} >"$out"
	echo "bench: wrote $out" >&2
fi

#!/usr/bin/env bash
# hack/deps.sh GROUP...: installs, with apt-get, the Debian packages that the
# make targets of GROUP (test, bench) need, and only those whose command is
# missing: on a machine that has them it changes nothing and asks no
# network. `make test` and `make bench` run it first, so a fresh Debian
# machine runs the README's commands as they are; .ci/run is `make test`.
#
# Another target's group is a line in the table below: COMMAND:PACKAGE, or
# /PATH:PACKAGE for a file that must be executable.
#
# DEPS_DRY_RUN=1 prints the packages it would install, one a line, and
# installs nothing (its test runs it so, with an empty PATH).
#
# Go itself is not installed here: Debian's is older than go.mod's go line.
set -euo pipefail

declare -A groups=(
	# Kernel tests in namespaces, the image (podman, buildah, runc,
	# setcap), the race detector (gcc), the CNI plugin's chain tests
	# (loopback, bridge and host-local; podman 4.3 also wants a CNI network
	# backend even when every container joins a namespace by path).
	[test]="nft:nftables iptables-nft:iptables ip:iproute2 nsenter:util-linux unshare:util-linux
		setpriv:util-linux make:make gcc:gcc git:git podman:podman buildah:buildah runc:runc
		setcap:libcap2-bin getcap:libcap2-bin
		/usr/lib/cni/loopback:containernetworking-plugins /usr/lib/cni/bridge:containernetworking-plugins
		/usr/lib/cni/host-local:containernetworking-plugins"
	# The real-cluster scenarios (make e2e): Debian's containerd, with ctr
	# and the runc shim, is the node's runtime; nothing starts it but the
	# tests.
	[e2e]="containerd:containerd ctr:containerd containerd-shim-runc-v2:containerd runc:runc
		nsenter:util-linux unshare:util-linux ip:iproute2 podman:podman
		/usr/lib/cni/loopback:containernetworking-plugins /usr/lib/cni/bridge:containernetworking-plugins
		/usr/lib/cni/host-local:containernetworking-plugins"
	# What the benchmark compares against and times with (hyperfine and GNU
	# time have fallbacks in the harness, which the report names).
	[bench]="nft:nftables iptables-nft:iptables ip6tables-nft:iptables ip:iproute2 unshare:util-linux
		nsenter:util-linux git:git hyperfine:hyperfine /usr/bin/time:time"
)

if [ $# -eq 0 ]; then
	echo "usage: hack/deps.sh GROUP... (groups: ${!groups[*]})" >&2
	exit 2
fi
need=()
for group in "$@"; do
	if [ -z "${groups[$group]+set}" ]; then
		echo "hack/deps.sh: no group $group (groups: ${!groups[*]})" >&2
		exit 2
	fi
	for entry in ${groups[$group]}; do
		what=${entry%%:*} pkg=${entry##*:}
		if [[ $what == /* ]]; then
			[ -x "$what" ] && continue
		else
			command -v "$what" >/dev/null 2>&1 && continue
		fi
		[[ " ${need[*]} " == *" $pkg "* ]] || need+=("$pkg")
	done
done
if [ -n "${DEPS_DRY_RUN:-}" ]; then
	for pkg in "${need[@]}"; do echo "$pkg"; done
	exit 0
fi
if [ "${#need[@]}" -gt 0 ]; then
	if [ "$EUID" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "hack/deps.sh: missing Debian packages: ${need[*]}; install them (as root: apt-get install ${need[*]})" >&2
		exit 1
	fi
	echo "hack/deps.sh: installing ${need[*]} (apt-get)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v "${GO:-go}" >/dev/null 2>&1 || {
	echo "hack/deps.sh: ${GO:-go} is not on PATH: install Go (go.mod's go line or later) and put it on PATH" >&2
	exit 1
}

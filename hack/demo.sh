#!/usr/bin/env bash
# make demo: proxy-init redirecting real connections, in throwaway network
# namespaces ("pod" and "peer" joined by a veth pair). Needs root, iproute2,
# util-linux (setpriv) and bash. Nothing touches the host's own namespace, and
# the namespaces are deleted on exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/proxy-init}
id="pidemo-$$"
POD="$id-pod" PEER="$id-peer"
tmp=$(mktemp -d)

cleanup() {
	# ip netns exec execs its command: the jobs are the listeners themselves.
	kill $(jobs -p) 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$POD" 2>/dev/null || true
	ip netns del "$PEER" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_pod() { ip netns exec "$POD" "$@"; }
in_peer() { ip netns exec "$PEER" "$@"; }
# connect NS ADDR PORT [UID]: open a TCP connection from NS and print the answer.
connect() {
	local ns=$1 addr=$2 port=$3 uid=${4:-}
	local as=()
	[ -n "$uid" ] && as=(setpriv --reuid "$uid" --regid "$uid" --clear-groups)
	ip netns exec "$ns" "${as[@]}" timeout 2 bash -c "exec 3<>/dev/tcp/$addr/$port && cat <&3" 2>&1 || echo "(no answer: refused or timed out)"
}

step "build the stand-in listeners"
CGO_ENABLED=0 go build -o "$tmp/standin" ./hack/demo/standin

step "create namespaces $POD (192.0.2.2, 2001:db8::2) and $PEER (192.0.2.1, 2001:db8::1)"
ip netns add "$POD"
ip netns add "$PEER"
in_pod sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
in_peer sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n "$POD" link add eth0 type veth peer name eth0 netns "$PEER"
for ns in "$POD" "$PEER"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done
ip -n "$POD" addr add 192.0.2.2/24 dev eth0
ip -n "$POD" addr add 2001:db8::2/64 dev eth0 nodad
ip -n "$PEER" addr add 192.0.2.1/24 dev eth0
ip -n "$PEER" addr add 2001:db8::1/64 dev eth0 nodad

step "start listeners: the proxy on 4143 (inbound) and 4140 (outbound), an app on 8080 in the pod, a service on 80 in the peer"
# Started directly (not through a shell function, which would fork a
# subshell) so that the job's pid is the listener itself and cleanup kills it.
ip netns exec "$POD" "$tmp/standin" proxy-inbound 4143 &
ip netns exec "$POD" "$tmp/standin" proxy-outbound 4140 &
ip netns exec "$POD" "$tmp/standin" app 8080 &
ip netns exec "$PEER" "$tmp/standin" peer-service 80 &
for _ in $(seq 50); do
	n=$( (in_pod ss -Hltn; in_peer ss -Hltn) | wc -l)
	[ "$n" -ge 8 ] && break
	sleep 0.1
done

step "before proxy-init: peer -> pod:8080 reaches the app directly"
connect "$PEER" 192.0.2.2 8080

step "$BIN --netns /run/netns/$POD --inbound-ports-to-ignore 4190,4191"
"$BIN" --netns "/run/netns/$POD" --inbound-ports-to-ignore 4190,4191

step "$BIN show: the rules, read back over netlink (no nft binary needed)"
"$BIN" show --netns "/run/netns/$POD"

step "inbound, IPv4: peer -> 192.0.2.2:8080 lands on the inbound proxy, which sees the original destination"
connect "$PEER" 192.0.2.2 8080
step "inbound, IPv6: peer -> [2001:db8::2]:8080"
connect "$PEER" 2001:db8::2 8080
step "outbound: the app (uid 1000) -> 192.0.2.1:80 lands on the outbound proxy"
connect "$POD" 192.0.2.1 80 1000
step "outbound as the proxy (uid 2102) -> 192.0.2.1:80 goes straight to the service"
connect "$POD" 192.0.2.1 80 2102
step "loopback: the app -> 127.0.0.1:8080 is not redirected"
connect "$POD" 127.0.0.1 8080 1000

step "$BIN verify: the live rules match the configuration"
"$BIN" verify --netns "/run/netns/$POD" --inbound-ports-to-ignore 4190,4191 && echo "verify: exit 0"

step "$BIN remove: our tables are gone, traffic flows directly again"
"$BIN" remove --netns "/run/netns/$POD"
connect "$PEER" 192.0.2.2 8080

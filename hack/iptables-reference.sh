#!/usr/bin/env bash
# iptables-reference.sh: upstream linkerd2-proxy-init's NAT rules, programmed
# the way upstream programs them (one iptables-nft process per rule), into the
# CURRENT network namespace. It is the baseline for benchmarks, e.g.
#
#   unshare -n hack/iptables-reference.sh --inbound-ports-to-ignore 4190,4191
#
# The rules and their order are those of
# shared/reference/linkerd-proxy-init-behaviour.md; internal/reference does
# the same from Go and its tests check that both agree.
#
# Flags (as upstream, with the seed defaults):
#   -p, --incoming-proxy-port PORT   (4143)
#   -o, --outgoing-proxy-port PORT   (4140)
#   -u, --proxy-uid UID              (2102; <= 0: no uid exception)
#   -g, --proxy-gid GID              (-1;   <= 0: no gid exception)
#   -r, --ports-to-redirect LIST     (empty: redirect all inbound TCP)
#   --inbound-ports-to-ignore LIST   ports and ranges a-b, comma-separated
#   --outbound-ports-to-ignore LIST
#   --subnets-to-ignore LIST         CIDRs; each family gets its own entries
#   --ipv6 true|false                (true: IPv4 and IPv6)
#   -v, --verbose                    print each command before running it
set -euo pipefail

prog=${0##*/}
in_port=4143
out_port=4140
uid=2102
gid=-1
redirect=""
in_ignore=""
out_ignore=""
subnets=""
ipv6=true
verbose=false

die() {
	echo "$prog: $*" >&2
	exit 2
}

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

# join LIST ITEM: comma-append, so repeated flags accumulate as upstream's
# repeatable --ports-to-redirect does.
join() { echo "${1:+$1,}$2"; }

while [ $# -gt 0 ]; do
	case $1 in
	--*=*)
		# --flag=value -> --flag value
		set -- "${1%%=*}" "${1#*=}" "${@:2}"
		continue
		;;
	-h | --help)
		usage
		exit 0
		;;
	-v | --verbose)
		verbose=true
		shift
		continue
		;;
	esac
	[ $# -ge 2 ] || die "$1 needs a value"
	case $1 in
	-p | --incoming-proxy-port) in_port=$2 ;;
	-o | --outgoing-proxy-port) out_port=$2 ;;
	-u | --proxy-uid) uid=$2 ;;
	-g | --proxy-gid) gid=$2 ;;
	-r | --ports-to-redirect) redirect=$(join "$redirect" "$2") ;;
	--inbound-ports-to-ignore) in_ignore=$(join "$in_ignore" "$2") ;;
	--outbound-ports-to-ignore) out_ignore=$(join "$out_ignore" "$2") ;;
	--subnets-to-ignore) subnets=$(join "$subnets" "$2") ;;
	--ipv6)
		case $2 in
		true | false) ipv6=$2 ;;
		*) die "--ipv6 takes true or false, not '$2'" ;;
		esac
		;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift 2
done

for v in "$in_port" "$out_port"; do
	[[ $v =~ ^[0-9]+$ ]] && ((10#$v >= 1 && 10#$v <= 65535)) || die "'$v' is not a proxy port"
done
for v in "$uid" "$gid"; do
	[[ $v =~ ^-?[0-9]+$ ]] || die "'$v' is not a uid/gid"
done

# port_value ITEM: sets port_v to "p" or "a:b" (iptables' range syntax) for
# a port or range given as p, a-b or a:b; returns 1 for anything else. It
# sets a variable rather than printing, because a $(...) subshell per entry
# made large lists cost seconds of bash that upstream's Go binary never pays.
port_value() {
	[[ $1 =~ ^([0-9]+)([-:]([0-9]+))?$ ]] || return 1
	local lo=$((10#${BASH_REMATCH[1]})) hi=$((10#${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}))
	((lo >= 1 && hi <= 65535 && lo <= hi)) || return 1
	if ((lo == hi)); then port_v=$lo; else port_v=$lo:$hi; fi
}

# port_chunks LIST: one --dports value per line. As upstream: the order is
# kept, invalid entries are reported and skipped, and a rule holds at most
# 15 port slots, a range taking two (xt_multiport's limit).
port_chunks() {
	local items item v n used=0 cur=""
	IFS=, read -ra items <<<"$1"
	for item in "${items[@]}"; do
		item=${item//[[:space:]]/}
		[ -n "$item" ] || continue
		if ! port_value "$item"; then
			echo "$prog: invalid port configuration of \"$item\": skipped" >&2
			continue
		fi
		v=$port_v
		n=1
		[[ $v == *:* ]] && n=2
		if ((used + n > 15)); then
			echo "$cur"
			cur="" used=0
		fi
		cur=${cur:+$cur,}$v
		used=$((used + n))
	done
	[ -z "$cur" ] || echo "$cur"
}

# program BINARY FAMILY: the rules of one family (4 or 6).
program() {
	local ipt=$1 family=$2 saved chunks items ports cidr item p
	run() {
		$verbose && echo "+ $ipt -w -t nat $*" >&2
		if ! "$ipt" -w -t nat "$@"; then
			echo "$prog: failed: $ipt -w -t nat $*" >&2
			exit 1
		fi
	}
	rule() { # rule CHAIN COMMENT MATCH...
		local chain=$1 comment=$2
		shift 2
		run -A "$chain" "$@" -m comment --comment "proxy-init/$comment"
	}
	saved=$("$ipt-save" -t nat) || die "$ipt-save -t nat failed"

	# Inbound. A chain left by an earlier run is flushed and refilled.
	if grep -q '^:PROXY_INIT_REDIRECT ' <<<"$saved"; then
		run -F PROXY_INIT_REDIRECT
	else
		run -N PROXY_INIT_REDIRECT
	fi
	mapfile -t chunks < <(port_chunks "$in_ignore")
	for ports in "${chunks[@]}"; do
		rule PROXY_INIT_REDIRECT "ignore-port-$ports" -p tcp -m multiport --dports "$ports" -j RETURN
	done
	IFS=, read -ra items <<<"$subnets"
	for cidr in "${items[@]}"; do
		cidr=${cidr//[[:space:]]/}
		[ -n "$cidr" ] || continue
		# An address with a colon is IPv6: each family gets its own.
		if { [[ $cidr == *:* ]] && [ "$family" = 6 ]; } || { [[ $cidr != *:* ]] && [ "$family" = 4 ]; }; then
			rule PROXY_INIT_REDIRECT "ignore-subnet-$cidr" -s "$cidr" -j RETURN
		fi
	done
	if [ -z "$redirect" ]; then
		rule PROXY_INIT_REDIRECT redirect-all-incoming-to-proxy-port -p tcp -j REDIRECT --to-port "$in_port"
	else
		IFS=, read -ra items <<<"$redirect"
		for item in "${items[@]}"; do
			item=${item//[[:space:]]/}
			[ -n "$item" ] || continue
			port_value "$item" || die "invalid --ports-to-redirect entry '$item'"
			p=$port_v
			rule PROXY_INIT_REDIRECT "redirect-port-$p-to-proxy-port" -p tcp --dport "$p" -j REDIRECT --to-port "$in_port"
		done
	fi
	if ! grep -Eq '^-A PREROUTING (.+ )?-j PROXY_INIT_REDIRECT( |$)' <<<"$saved"; then
		rule PREROUTING install-proxy-init-prerouting -j PROXY_INIT_REDIRECT
	fi

	# Outbound.
	if grep -q '^:PROXY_INIT_OUTPUT ' <<<"$saved"; then
		run -F PROXY_INIT_OUTPUT
	else
		run -N PROXY_INIT_OUTPUT
	fi
	if ((uid > 0)); then
		rule PROXY_INIT_OUTPUT ignore-proxy-user-id -m owner --uid-owner "$uid" -j RETURN
	fi
	if ((gid > 0)); then
		rule PROXY_INIT_OUTPUT ignore-proxy-group-id -m owner --gid-owner "$gid" -j RETURN
	fi
	rule PROXY_INIT_OUTPUT ignore-loopback -o lo -j RETURN
	mapfile -t chunks < <(port_chunks "$out_ignore")
	for ports in "${chunks[@]}"; do
		rule PROXY_INIT_OUTPUT "ignore-port-$ports" -p tcp -m multiport --dports "$ports" -j RETURN
	done
	rule PROXY_INIT_OUTPUT redirect-all-outgoing-to-proxy-port -p tcp -j REDIRECT --to-port "$out_port"
	if ! grep -Eq '^-A OUTPUT (.+ )?-j PROXY_INIT_OUTPUT( |$)' <<<"$saved"; then
		rule OUTPUT install-proxy-init-output -j PROXY_INIT_OUTPUT
	fi
}

program iptables-nft 4
if [ "$ipv6" = true ]; then
	program ip6tables-nft 6
fi

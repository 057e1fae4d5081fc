#!/bin/sh
# Usage: hack/cni-install-compare.sh INSTALLER...   (root)
#
# Checks the behaviours where proxy-init-cni-install improves on upstream's
# linkerd2-cni-install, against any installer binary of that interface:
# run it with ours (bin/proxy-init-cni-install) and upstream's built from
# source (linkerd2-proxy-init's cni-install/) to see which pass. Each check
# runs the installer on a node tree in a temporary directory, inside a
# private mount namespace where a tmpfs over /run holds the service account
# directory at the fixed path upstream reads: nothing on the host changes.
# Exit status: the number of failed checks.
set -u
fails=0

# run BIN SCENARIO CHECK: installs on a fresh tree, runs CHECK (a shell
# function) while it runs, then SIGTERM.
run() {
	bin=$1 scenario=$2 check=$3
	T=$(mktemp -d)
	net=$T/host/etc/cni/net.d
	mkdir -p "$net" "$T/host/opt/cni/bin" "$T/image" "$T/sa/..d1"
	echo tok >"$T/sa/..d1/token"
	echo ca >"$T/sa/..d1/ca.crt"
	ln -s ..d1 "$T/sa/..data"
	ln -s ..data/token "$T/sa/token"
	ln -s ..data/ca.crt "$T/sa/ca.crt"
	echo bin >"$T/image/linkerd-cni"
	chmod 755 "$T/image/linkerd-cni"
	echo '{"cniVersion":"0.3.1","name":"k","plugins":[{"type":"ptp"}]}' >"$net/10-a.conflist"
	host=10.96.0.1
	cfg='{"type":"linkerd-cni","kubernetes":{"kubeconfig":"__KUBECONFIG_FILEPATH__"}}'
	case $scenario in
	ipv6) host=fd00::1 ;;
	malformed) echo '{"plugins":[{"type":"x"},]}' >"$net/05-bad.conflist" ;;
	badconfig) cfg='{"type":"linkerd-cni",}' ;;
	symlink)
		mv "$net/10-a.conflist" "$net/real.json"
		ln -s real.json "$net/10-a.conflist"
		;;
	esac
	SA=$T/sa BIN=$bin CONTAINER_MOUNT_PREFIX=$T/host CONTAINER_CNI_BIN_DIR=$T/image \
		KUBERNETES_SERVICE_HOST=$host KUBERNETES_SERVICE_PORT=443 CNI_NETWORK_CONFIG=$cfg \
		unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run
mkdir -p /run/secrets/kubernetes.io/serviceaccount
mount --bind "$SA" /run/secrets/kubernetes.io/serviceaccount
exec "$BIN"' >"$T/log" 2>&1 &
	pid=$!
	sleep 0.5
	if why=$($check); then
		echo "  ok    $scenario"
	else
		echo "  FAIL  $scenario: $why"
		fails=$((fails + 1))
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -rf "$T"
}

alive() { kill -0 "$pid" 2>/dev/null; }

check_mode() {
	m=$(stat -c %a "$net/ZZZ-linkerd-cni-kubeconfig") || return 1
	[ "$m" = 600 ] || { echo "kubeconfig mode $m (its token readable by every user)"; return 1; }
}
check_ipv6() {
	s=$(grep 'server:' "$net/ZZZ-linkerd-cni-kubeconfig") || return 1
	case $s in *'https://[fd00::1]:443') ;; *) echo "kubeconfig ${s# *}"; return 1 ;; esac
}
check_malformed() {
	alive || { echo "exited ($(tail -c 200 "$T/log")), its files left on the node"; return 1; }
	grep -q linkerd-cni "$net/10-a.conflist" || { echo "the good conflist not patched"; return 1; }
	[ "$(cat "$net/05-bad.conflist")" = '{"plugins":[{"type":"x"},]}' ] || { echo "the malformed file changed"; return 1; }
}
check_badconfig() {
	if alive; then echo "still running"; return 1; fi
	left=$(ls "$T/host/opt/cni/bin" "$net" | grep -v -e '^10-a.conflist$' -e ':$' -e '^$')
	[ -z "$left" ] || { echo "refused, but after writing: $(echo $left)"; return 1; }
}
check_symlink() {
	[ -L "$net/10-a.conflist" ] || { echo "the link replaced by a regular file"; return 1; }
	grep -q linkerd-cni "$net/real.json" || { echo "the linked file not patched"; return 1; }
}

for bin in "$@"; do
	bin=$(readlink -f "$bin")
	echo "$bin"
	for s in mode ipv6 malformed badconfig symlink; do
		run "$bin" "$s" "check_$s"
	done
done
exit "$fails"

#!/bin/sh
# Usage: hack/repairbench/apiserver.sh ETCD KUBE_APISERVER [repairbench flags]
#
# Runs repairbench against a throwaway control plane (etcd and
# kube-apiserver only: the pods are bound to nodes by name, so neither the
# scheduler nor a kubelet is needed) in a private network namespace and a
# temporary directory, both gone at the end: nothing is left on the host.
# Needs root (unshare -n), kubectl and openssl; `make build` first.
# A cluster of its own for the e2e run: call repairbench with --kubeconfig.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 ETCD KUBE_APISERVER [repairbench flags]" >&2; exit 2; }
etcd=$(realpath "$1"); apiserver=$(realpath "$2"); shift 2
hack=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$hack/.." && pwd)/bin/proxy-init-cni-repair
[ -x "$bin" ] || { echo "$bin: missing; run make build" >&2; exit 2; }
if [ "${REPAIRBENCH_IN_NETNS:-}" != 1 ]; then
	REPAIRBENCH_IN_NETNS=1 exec unshare -n "$0" "$etcd" "$apiserver" "$@"
fi
D=$(mktemp -d)
pids=""
trap 'rc=$?; for p in $pids; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$D"; exit $rc' EXIT
ip link set lo up
# kube-apiserver refuses to advertise a loopback address: a bridge with no
# ports gives it one, inside this namespace only.
ip link add br0 type bridge && ip addr add 10.88.0.1/24 dev br0 && ip link set br0 up
mkdir "$D/pki"
openssl genrsa -out "$D/pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$D/pki/sa.key" -pubout -out "$D/pki/sa.pub" 2>/dev/null
echo "repairbench-token,repairbench,1000,system:masters" >"$D/pki/tokens.csv"
"$etcd" --name=b --data-dir="$D/etcd" --listen-client-urls=http://127.0.0.1:2379 --advertise-client-urls=http://127.0.0.1:2379 \
	--listen-peer-urls=http://127.0.0.1:2380 --initial-advertise-peer-urls=http://127.0.0.1:2380 \
	--initial-cluster=b=http://127.0.0.1:2380 --unsafe-no-fsync --log-level=warn >"$D/etcd.log" 2>&1 &
pids="$pids $!"
"$apiserver" --etcd-servers=http://127.0.0.1:2379 --bind-address=127.0.0.1 --advertise-address=10.88.0.1 --secure-port=6443 \
	--cert-dir="$D/pki" --token-auth-file="$D/pki/tokens.csv" --authorization-mode=AlwaysAllow \
	--service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$D/pki/sa.pub" \
	--service-account-signing-key-file="$D/pki/sa.key" --service-cluster-ip-range=10.96.0.0/24 \
	--disable-admission-plugins=ServiceAccount >"$D/apiserver.log" 2>&1 &
pids="$pids $!"
cat >"$D/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: repairbench-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
KC
i=0
until kubectl --kubeconfig "$D/kubeconfig" get --raw /readyz >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 120 ] || { echo "kube-apiserver not ready; its log:" >&2; tail -20 "$D/apiserver.log" >&2; exit 1; }
	sleep 1
done
cd "$hack"
go run ./repairbench --kubeconfig "$D/kubeconfig" --binary "$bin" --keep "$@"

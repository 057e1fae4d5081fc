#!/bin/sh
# Usage: deploy/image.sh BINDIR [NAME]
#
# Builds the images NAME:nonroot and NAME:netadmin (NAME defaults to
# proxy-init) from the static binaries in BINDIR (`make build` puts them in
# bin/), and NAME-cni:latest, the CNI DaemonSet's, when BINDIR holds
# proxy-init-cni and proxy-init-cni-install; offline: deploy/Containerfile is FROM scratch, so nothing is pulled
# and the build needs no network. `make image` and the image tests both run
# this script, so what is tested is what is built.
set -eu
bindir=$1
name=${2:-proxy-init}
here=$(cd "$(dirname "$0")" && pwd)

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/nonroot" "$ctx/netadmin"
cp "$bindir/proxy-init" "$ctx/nonroot/proxy-init"
# The CNI plugin binary, for installers that copy it out of the image.
if [ -e "$bindir/proxy-init-cni" ]; then
	cp "$bindir/proxy-init-cni" "$ctx/nonroot/proxy-init-cni"
fi
cp "$bindir/proxy-init" "$ctx/netadmin/proxy-init"
# +ep: permitted, and effective at exec (the binary is capability-dumb: it
# does not raise capabilities itself).
setcap cap_net_admin+ep "$ctx/netadmin/proxy-init"

# The CNI image: installer, plugin (two names, one file), repair
# controller when built.
if [ -e "$bindir/proxy-init-cni" ] && [ -e "$bindir/proxy-init-cni-install" ]; then
	mkdir -p "$ctx/cni/opt/cni/bin"
	cp "$bindir/proxy-init-cni-install" "$ctx/cni/proxy-init-cni-install"
	cp "$bindir/proxy-init-cni" "$ctx/cni/opt/cni/bin/linkerd-cni"
	ln "$ctx/cni/opt/cni/bin/linkerd-cni" "$ctx/cni/opt/cni/bin/proxy-init-cni"
	if [ -e "$bindir/proxy-init-cni-repair" ]; then
		cp "$bindir/proxy-init-cni-repair" "$ctx/cni/proxy-init-cni-repair"
		mkdir -p "$ctx/cni/usr/lib/linkerd"
		ln -s /proxy-init-cni-repair "$ctx/cni/usr/lib/linkerd/linkerd-cni-repair-controller"
	fi
fi

# --layers=false: no intermediate image per instruction is kept as a cache
# (nothing here is worth caching), and the image a rebuild replaces is
# removed once untagged, unless a container or another tag still holds it:
# otherwise every `make image` leaves untagged images behind.
targets="nonroot:$name:nonroot netadmin:$name:netadmin"
if [ -d "$ctx/cni" ]; then
	targets="$targets cni:$name-cni:latest"
fi
for t in $targets; do
	target=${t%%:*}
	tag=${t#*:}
	old=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
	podman build --quiet --layers=false --network none --pull=never -f "$here/Containerfile" \
		--target "$target" -t "$tag" "$ctx"
	new=$(podman image inspect --format '{{.Id}}' "$tag")
	if [ -n "$old" ] && [ "$old" != "$new" ]; then
		podman rmi "$old" >/dev/null 2>&1 || true
	fi
done

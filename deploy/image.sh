#!/bin/sh
# Usage: deploy/image.sh BINDIR [NAME]
#
# Builds the images NAME:nonroot and NAME:netadmin (NAME defaults to
# proxy-init) from the static binaries in BINDIR (`make build` puts them in
# bin/), offline: deploy/Containerfile is FROM scratch, so nothing is pulled
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

# --layers=false: no intermediate image per instruction is kept as a cache
# (nothing here is worth caching), and the image a rebuild replaces is
# removed once untagged, unless a container or another tag still holds it:
# otherwise every `make image` leaves untagged images behind.
for target in nonroot netadmin; do
	old=$(podman image inspect --format '{{.Id}}' "$name:$target" 2>/dev/null || true)
	podman build --quiet --layers=false --network none --pull=never -f "$here/Containerfile" \
		--target "$target" -t "$name:$target" "$ctx"
	new=$(podman image inspect --format '{{.Id}}' "$name:$target")
	if [ -n "$old" ] && [ "$old" != "$new" ]; then
		podman rmi "$old" >/dev/null 2>&1 || true
	fi
done

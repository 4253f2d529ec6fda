#!/usr/bin/env bash
# npm run test:container: builds the image from the Dockerfile and runs it against Postgres
# (tests/container/image.test.ts). Where no engine runs, starts dockerd (installing Debian's
# docker.io, docker-compose and debootstrap first when root on Debian) and stops it at the end.
# Where node:24-bookworm-slim cannot be pulled, builds on a stand-in made from Debian's packages
# (scripts/container-base.sh). CONTAINER_NODE_IMAGE=<image> picks another base.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v docker > /dev/null || missing+=(docker.io)
docker info > /dev/null 2>&1 || command -v dockerd > /dev/null || missing+=(docker.io)
{ docker compose version || docker-compose version; } > /dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
    echo "Missing: ${missing[*]} (a docker engine and Docker Compose)." >&2
    exit 1
  fi
  apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null ||
    { apt-get update -q > /dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" > /dev/null; }
fi

if ! docker info > /dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "No docker engine runs, and starting dockerd needs root." >&2
    exit 1
  fi
  log="$(mktemp)"
  # No bridge or NAT: the test's containers use the host's network (its Postgres on loopback).
  dockerd --iptables=false --bridge=none > "$log" 2>&1 &
  dockerd_pid=$!
  # shellcheck disable=SC2064
  trap "kill $dockerd_pid; wait $dockerd_pid || true; rm -f '$log'" EXIT
  for _ in $(seq 60); do docker info > /dev/null 2>&1 && break; sleep 0.5; done
  docker info > /dev/null 2>&1 || { tail -n 20 "$log" >&2; exit 1; }
fi

if [ -z "${CONTAINER_NODE_IMAGE:-}" ]; then
  official="$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)"
  if docker image inspect "$official" > /dev/null 2>&1 || docker pull -q "$official" > /dev/null 2>&1; then
    CONTAINER_NODE_IMAGE="$official"
  else
    echo "Cannot pull $official: building on a stand-in made from Debian's packages."
    command -v debootstrap > /dev/null || apt-get install -y -q --no-install-recommends debootstrap > /dev/null
    CONTAINER_NODE_IMAGE=local/node:24-bookworm-slim
    scripts/container-base.sh "$CONTAINER_NODE_IMAGE"
  fi
fi
export CONTAINER_NODE_IMAGE

npx vitest run --config tests/container/vitest.config.ts "$@"

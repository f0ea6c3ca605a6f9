#!/usr/bin/env bash
# Start a private Docker engine and make a local python:3.11-slim base image, for machines that
# reach no container registry (CI here). Prints the DOCKER_HOST to use; `stop` tears it down.
#   .ci/docker-engine.sh start   ->  prints unix:///tmp/greenrpc-docker/docker.sock
#   .ci/docker-engine.sh stop
set -euo pipefail

STATE=${GREENRPC_DOCKER_STATE:-/tmp/greenrpc-docker}
SOCK=unix://$STATE/docker.sock
BASE=python:3.11-slim
export DOCKER_HOST=$SOCK

log() { printf '[docker-engine] %s\n' "$*" >&2; }

start() {
  if ! command -v dockerd >/dev/null || ! command -v mmdebstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      docker.io mmdebstrap >/dev/null
  fi
  mkdir -p "$STATE"
  if ! docker version >/dev/null 2>&1; then
    # No bridge and no iptables: builds and containers use the host's network.
    dockerd -H "$SOCK" --data-root "$STATE/data" --exec-root "$STATE/exec" \
      --pidfile "$STATE/dockerd.pid" --bridge=none --iptables=false --ip6tables=false \
      --ip-forward=false --ip-masq=false >"$STATE/dockerd.log" 2>&1 &
    for _ in $(seq 1 120); do docker version >/dev/null 2>&1 && break; sleep 0.25; done
    docker version >/dev/null 2>&1 || { tail -20 "$STATE/dockerd.log" >&2; exit 1; }
  fi
  if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    log "building $BASE from Debian bookworm (no registry needed)"
    local mirror overlay=$STATE/overlay
    mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2 == "bookworm" && !n++ {print $1}')
    rm -rf "$overlay"; mkdir -p "$overlay/usr/local/share/ca-certificates" "$overlay/etc"
    # The registry's TLS may be intercepted by a CA only this host trusts; pip needs its index too.
    cp /usr/local/share/ca-certificates/*.crt "$overlay/usr/local/share/ca-certificates/" 2>/dev/null || true
    { echo "[global]"
      idx=$(python3 -m pip config get global.index-url 2>/dev/null || true)
      [ -n "$idx" ] && echo "index-url = $idx"
      extra=$(python3 -m pip config get global.extra-index-url 2>/dev/null | tr ' ' '\n' | grep -E '^https?://' | tr '\n' ' ' || true)
      [ -n "${extra// /}" ] && echo "extra-index-url = $extra"
      echo "disable-pip-version-check = true"
    } > "$overlay/etc/pip.conf"
    mmdebstrap --quiet --variant=minbase --aptopt='Acquire::Check-Valid-Until "false"' \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --include=python3,python3-pip,python-is-python3,ca-certificates,passwd \
      --customize-hook="cp -a '$overlay/.' \"\$1/\" && chroot \"\$1\" update-ca-certificates >/dev/null" \
      --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
      bookworm - "$mirror" 2>"$STATE/mmdebstrap.log" \
      | docker import -c 'ENV LANG=C.UTF-8' -c 'CMD ["python3"]' - "$BASE" >/dev/null
  fi
  echo "$SOCK"
}

stop() {
  [ -f "$STATE/dockerd.pid" ] || exit 0
  pid=$(cat "$STATE/dockerd.pid")
  docker ps -aq | xargs -r docker rm -f >/dev/null 2>&1 || true
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL "$pid" 2>/dev/null || true
  awk -v s="$STATE" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$STATE"
}

"${1:-start}"

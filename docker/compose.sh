#!/usr/bin/env bash
# Start or stop the compose topology (one container per service), e.g. `just compose up`.
#   docker/compose.sh up     build the image if missing, start, wait until lab.json is written
#   docker/compose.sh down   stop and remove the containers and networks
#   docker/compose.sh ps|logs
# HYOK_COMPOSE_DIR (default .hyok-compose) is the shared lab dir; HYOK_COMPOSE_PROJECT names it.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd="${1:-up}"
export HYOK_COMPOSE_DIR="$(realpath -m "${HYOK_COMPOSE_DIR:-.hyok-compose}")"
export HYOK_UID="${HYOK_UID:-$(id -u)}" HYOK_GID="${HYOK_GID:-$(id -g)}"
project="${HYOK_COMPOSE_PROJECT:-hyok-lab}"
if docker compose version >/dev/null 2>&1; then dc=(docker compose); else dc=(docker-compose); fi
dc+=(-f docker/compose.yaml -p "$project")
if ! docker info >/dev/null 2>&1; then
  echo "error: no Docker engine answers (is dockerd running, and may this user use it?)" >&2
  exit 1
fi
case "$cmd" in
  up)
    docker image inspect "${HYOK_IMAGE:-hyok-lab:dev}" >/dev/null 2>&1 || docker/build.sh "${HYOK_IMAGE:-hyok-lab:dev}"
    mkdir -p "$HYOK_COMPOSE_DIR"
    # Fragments and lab.json of an earlier run must not be mistaken for this one's.
    rm -rf "$HYOK_COMPOSE_DIR/lab.json" "$HYOK_COMPOSE_DIR/compose"
    started=$(date +%s%N)
    out="$(mktemp)"
    if ! "${dc[@]}" up -d 2>&1 | tee "$out" || grep -q "^ERROR" "$out"; then
      "${dc[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
      taken="$(grep -oE 'listen (tcp4|udp4|tcp|udp) [0-9.]+:[0-9]+: bind: address already in use' "$out" | head -1 | awk '{print $3}' | sed 's/:$//')"
      rm -f "$out"
      if [ -n "$taken" ]; then
        echo "error: port ${taken##*:} on ${taken%:*} is already taken (another lab? \`hyok-lab down\` or free it); the topology was removed" >&2
      else
        echo "error: the compose topology did not start (see above); it was removed" >&2
      fi
      exit 1
    fi
    rm -f "$out"
    for _ in $(seq 1 600); do
      [ -f "$HYOK_COMPOSE_DIR/lab.json" ] && break
      sleep 0.1
    done
    if [ ! -f "$HYOK_COMPOSE_DIR/lab.json" ]; then
      "${dc[@]}" logs --tail 30 >&2 || true
      echo "error: no lab.json in $HYOK_COMPOSE_DIR after 60 s" >&2
      exit 1
    fi
    echo "compose topology up in $(( ($(date +%s%N) - started) / 1000000 )) ms; lab dir $HYOK_COMPOSE_DIR"
    echo "next: hyok-lab scenario run oci-hyok-api-gateway --lab-dir $HYOK_COMPOSE_DIR"
    ;;
  down) "${dc[@]}" down -v --remove-orphans -t 5 ;;
  ps|logs) "${dc[@]}" "$cmd" ;;
  *) echo "usage: docker/compose.sh up|down|ps|logs" >&2; exit 2 ;;
esac

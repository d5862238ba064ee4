#!/usr/bin/env bash
# Build the hyok-lab image without any registry: a static release binary (glibc, crt-static)
# copied into a FROM scratch image. Prints the image size.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${1:-hyok-lab:dev}"
TARGET_DIR="${HYOK_STATIC_TARGET_DIR:-target/static}"
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked \
  --target x86_64-unknown-linux-gnu --target-dir "$TARGET_DIR" -p hyok-lab
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$TARGET_DIR/x86_64-unknown-linux-gnu/release/hyok-lab" "$ctx/hyok-lab"
strip "$ctx/hyok-lab" 2>/dev/null || true
cp docker/Dockerfile "$ctx/Dockerfile"
docker build -q -t "$TAG" "$ctx" >/dev/null
echo "built $TAG: $(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.1f MB", $1/1e6}')"

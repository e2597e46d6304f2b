#!/usr/bin/env bash
# Builds the image `safeledger:local` without any registry: a static release binary built
# on this host (glibc, static-pie), copied into an image FROM scratch.
#   docker/build-image.sh            build the binary and the image
#   SAFELEDGER_BINARY=path docker/build-image.sh   use an already built static binary
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-gnu
BIN="${SAFELEDGER_BINARY:-target/$TARGET/release/safeledger}"
if [ -z "${SAFELEDGER_BINARY:-}" ]; then
  RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target "$TARGET" -p safeledger-node
fi
if ldd "$BIN" >/dev/null 2>&1 && ! ldd "$BIN" 2>&1 | grep -q "statically linked"; then
  echo "error: $BIN is not statically linked" >&2
  exit 1
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$BIN" "$ctx/safeledger"
# Debug info stays in the build; the image carries the stripped binary.
command -v strip >/dev/null 2>&1 && strip --strip-debug "$ctx/safeledger"
DOCKER_BUILDKIT=0 docker build -q -t safeledger:local -f docker/Dockerfile.scratch "$ctx" >/dev/null
echo "built image safeledger:local from $BIN"

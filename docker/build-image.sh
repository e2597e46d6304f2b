#!/usr/bin/env bash
# Builds a safeledger image without any registry: a binary built on this host, copied into
# an image FROM scratch together with the shared libraries it loads (none for the static
# release binary; the C library and its loader for a dynamically linked one).
#   docker/build-image.sh      build the static release binary and the image safeledger:local
#   SAFELEDGER_BINARY=path docker/build-image.sh   use an already built binary (static or not)
#   SAFELEDGER_IMAGE=name:tag docker/build-image.sh   tag the image otherwise
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-gnu
BIN="${SAFELEDGER_BINARY:-target/$TARGET/release/safeledger}"
IMAGE="${SAFELEDGER_IMAGE:-safeledger:local}"
if [ -z "${SAFELEDGER_BINARY:-}" ]; then
  RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target "$TARGET" -p safeledger-node
fi
[ -x "$BIN" ] || { echo "error: no executable at $BIN" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs"
cp "$BIN" "$ctx/rootfs/safeledger"
# Debug info stays in the build; the image carries the stripped binary.
command -v strip >/dev/null 2>&1 && strip --strip-debug "$ctx/rootfs/safeledger"
# A dynamically linked binary brings the libraries `ldd` resolves, at the same paths.
if ldd "$BIN" >/dev/null 2>&1; then
  for lib in $(ldd "$BIN" | grep -o '/[^ ]*'); do
    mkdir -p "$ctx/rootfs$(dirname "$lib")"
    cp -L "$lib" "$ctx/rootfs$lib"
  done
fi
cp docker/Dockerfile.scratch "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ctx" >/dev/null
echo "built image $IMAGE from $BIN"

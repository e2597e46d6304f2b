#!/usr/bin/env bash
# Stops the container network started by docker/up.sh and deletes its volumes and docker/net.
set -euo pipefail
cd "$(dirname "$0")"
if docker compose version >/dev/null 2>&1; then docker compose -p safeledger down -v
else docker-compose -p safeledger down -v; fi
rm -rf net

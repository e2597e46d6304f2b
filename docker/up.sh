#!/usr/bin/env bash
# Starts the four-agency network in containers: builds the image if it is missing (no
# registry needed), creates docker/net (keys + genesis with fixed addresses) on first use,
# brings the compose network up and waits until every node is healthy.
#   docker/up.sh            start (metrics on 127.0.0.1:9101..9104)
#   docker/up.sh --import   also run the client container, importing data/
#   docker/down.sh          stop and delete the network, its volumes and docker/net
set -euo pipefail
cd "$(dirname "$0")"
compose() {
  if docker compose version >/dev/null 2>&1; then docker compose -p safeledger "$@"
  else docker-compose -p safeledger "$@"; fi
}
NET="${SAFELEDGER_NET:-172.28.0}"
[ -n "$(docker images -q safeledger:local 2>/dev/null)" ] || ./build-image.sh
if [ ! -f net/genesis.json ]; then
  mkdir -p net
  docker run --rm -v "$PWD/net:/out" safeledger:local init --dir /out/ \
    --hosts "$NET.11,$NET.12,$NET.13,$NET.14" >/dev/null
  echo "created docker/net (genesis and keys)"
fi
for a in chicago-bacp chicago-cdph sf-dph us-osha; do mkdir -p "net/partition/$a"; done
compose up -d chicago-bacp chicago-cdph sf-dph us-osha
for i in $(seq 1 60); do
  healthy=$(compose ps -q | xargs docker inspect --format '{{.State.Health.Status}}' 2>/dev/null | grep -c healthy || true)
  [ "$healthy" -ge 4 ] && break
  sleep 1
done
compose ps
if [ "${1:-}" = "--import" ]; then compose --profile client run --rm client; fi
echo "metrics: curl http://127.0.0.1:9101/metrics   status: safeledger status --home docker/net (TLS; certificates pinned in its genesis)"

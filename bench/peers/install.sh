#!/usr/bin/env bash
# Installs what bench/peers needs, from Debian only: the two peer servers, the two C client libraries and a
# compiler. Not part of scripts/install-deps.sh because `make test` needs none of it. Idempotent: does nothing
# when everything is already installed.
set -euo pipefail

pkgs=(redis-server nats-server libhiredis-dev libnats-dev pkg-config gcc make jq iproute2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "bench/peers: installing ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's redis-server package starts a system-wide instance on 6379; the benchmarks start their own servers
# on free ports, so stop it to keep it from competing for the CPU.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
fi

#!/usr/bin/env bash
# A/B of two thruster-broker binaries on gRPC send (thruster_grpc_send_bench: 4 producers x 100 in flight, 1 KiB
# bodies), interleaved per round, a fresh store and broker per run. Besides msgs/s it prints the CPU each side
# spent per message (user+sys, warm-up included; for the broker also its gRPC callback threads alone), to tell
# whether the broker or the client is the limit.
# Usage: bench/proxy/grpc-ab.sh OLD_BROKER NEW_BROKER [ROUNDS] [MESSAGES]   (release builds)
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD=$(realpath "$1")
NEW=$(realpath "$2")
ROUNDS=${3:-3}
MESSAGES=${4:-100000}
WARMUP=20000
GRPC_BENCH=build/release/bench/proxy/thruster_grpc_send_bench
WORK=$(mktemp -d)
source bench/lib.sh
trap 'stop_broker; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
ticks=$(getconf CLK_TCK)

# CPU seconds (user+sys) the process PID has used so far.
cpu_of() { awk -v t="$ticks" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
# The same for its gRPC callback threads only (gRPC's own work and the handlers run there; the store's threads and
# the warm-up of new commit log files do not).
grpc_cpu_of() {
  local sum=0 task
  for task in /proc/"$1"/task/*; do
    [[ $(cat "$task/comm" 2>/dev/null) == nexting_thread ]] || continue
    sum=$(awk -v t="$ticks" -v s="$sum" '{ print s + ($14 + $15) / t }' "$task/stat")
  done
  echo "$sum"
}

for round in $(seq 1 "$ROUNDS"); do
  for side in old new; do
    rm -rf "$WORK/store"
    mkdir -p "$WORK/bin-$side"
    ln -sf "$([ "$side" = old ] && echo "$OLD" || echo "$NEW")" "$WORK/bin-$side/thruster-broker"
    BIN="$WORK/bin-$side"
    gport=$(free_port)
    launch_broker "$WORK/store" "$WORK/broker.log" --enableGrpcServer=true --grpcServerPort="$gport" --logLevel=WARN
    wait_port "$gport"
    before=$(cpu_of "$BROKER_PID")
    grpc_before=$(grpc_cpu_of "$BROKER_PID")
    line=$(/usr/bin/time -f 'client_cpu %U %S' "$GRPC_BENCH" --target "127.0.0.1:$gport" --topic BenchGrpc \
      --producers 4 --inflight 100 --size 1024 --messages "$MESSAGES" --warmup "$WARMUP" 2>&1) ||
      echo "round $round $side: FAILED"
    after=$(cpu_of "$BROKER_PID")
    grpc_after=$(grpc_cpu_of "$BROKER_PID")
    rate=$(grep -o '[0-9]* msgs/s' <<<"$line" | head -1)
    client=$(awk '/client_cpu/ { printf "%.1f", ($2 + $3) * 1e6 / n }' n=$((MESSAGES + WARMUP)) <<<"$line")
    broker=$(awk -v a="$before" -v b="$after" -v n=$((MESSAGES + WARMUP)) 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
    grpc=$(awk -v a="$grpc_before" -v b="$grpc_after" -v n=$((MESSAGES + WARMUP)) 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')
    echo "round $round $side: $rate, broker ${broker} us CPU/msg (gRPC threads ${grpc}), client ${client} us CPU/msg"
    stop_broker
  done
done

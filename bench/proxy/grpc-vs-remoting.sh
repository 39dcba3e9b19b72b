#!/usr/bin/env bash
# Send throughput over the 5.x gRPC endpoint against the remoting path, on one thruster-broker (release build,
# enableGrpcServer=true, fresh store per round): `thruster bench produce` (remoting) and
# thruster_grpc_send_bench (gRPC), both 4 producers x 100 in flight, 1 KiB bodies, alternating per round.
# Usage: bench/proxy/grpc-vs-remoting.sh [ROUNDS] [MESSAGES]   (needs `make build`)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
MESSAGES=${2:-200000}
BIN=build/release/apps
GRPC_BENCH=build/release/bench/proxy/thruster_grpc_send_bench
WORK=$(mktemp -d)
source bench/lib.sh
trap 'stop_broker; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

for round in $(seq 1 "$ROUNDS"); do
  for path in remoting grpc; do
    rm -rf "$WORK/store"
    gport=$(free_port)
    launch_broker "$WORK/store" "$WORK/broker.log" --enableGrpcServer=true --grpcServerPort="$gport" --logLevel=WARN
    ns=$NAMESRV_PORT
    wait_port "$gport"
    if [ "$path" = remoting ]; then
      "$BIN/thruster" bench produce --namesrv "127.0.0.1:$ns" --topic BenchRemoting --producers 4 --inflight 100 \
        --size 1024 --messages "$MESSAGES" --runs 1 2>&1 | grep -i 'msgs/s' | sed "s/^/round $round remoting: /" ||
        echo "round $round remoting: FAILED (exit ${PIPESTATUS[0]})"
    else
      "$GRPC_BENCH" --target "127.0.0.1:$gport" --topic BenchGrpc --producers 4 --inflight 100 --size 1024 \
        --messages "$MESSAGES" 2>&1 | sed "s/^/round $round /" || echo "round $round grpc: FAILED (exit ${PIPESTATUS[0]})"
    fi
    stop_broker
  done
done

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
PID=
trap 'kill "$PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

for round in $(seq 1 "$ROUNDS"); do
  for path in remoting grpc; do
    rm -rf "$WORK/store"
    ns=$(free_port)
    port=$(free_port)
    gport=$(free_port)
    "$BIN/thruster-broker" --storePathRootDir="$WORK/store" --listenPort="$port" --namesrvListenPort="$ns" \
      --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 --enableGrpcServer=true --grpcServerPort="$gport" \
      --logTarget=stderr --logLevel=WARN 2>"$WORK/broker.log" >/dev/null &
    PID=$!
    wait_port "$gport"
    if [ "$path" = remoting ]; then
      "$BIN/thruster" bench produce --namesrv "127.0.0.1:$ns" --topic BenchRemoting --producers 4 --inflight 100 \
        --size 1024 --messages "$MESSAGES" --runs 1 2>&1 | grep -i 'msgs/s' | sed "s/^/round $round remoting: /" ||
        echo "round $round remoting: FAILED (exit ${PIPESTATUS[0]})"
    else
      "$GRPC_BENCH" --target "127.0.0.1:$gport" --topic BenchGrpc --producers 4 --inflight 100 --size 1024 \
        --messages "$MESSAGES" 2>&1 | sed "s/^/round $round /" || echo "round $round grpc: FAILED (exit ${PIPESTATUS[0]})"
    fi
    kill "$PID"
    wait "$PID" || true
    PID=
  done
done

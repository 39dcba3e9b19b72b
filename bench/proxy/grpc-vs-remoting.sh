#!/usr/bin/env bash
# Send and receive throughput over the 5.x gRPC endpoint against the remoting path, on one thruster-broker
# (release build, enableGrpcServer=true, fresh store per round), alternating per round:
#   send     `thruster bench produce` (remoting) and thruster_grpc_send_bench (gRPC), both 4 producers x 100 in
#            flight, 1 KiB bodies;
#   receive  the backlog that send left: `thruster bench consume` (remoting pull, 4 pulls in flight per queue,
#            batch 32) and `thruster_grpc_send_bench --mode receive` (SimpleConsumer: ReceiveMessage batch 32, 4
#            consumers x 4 in flight, one AckMessage per batch; pop and ack are the broker's work here, so this path
#            also writes the pop checkpoints and acks a 5.x consumer costs).
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
      "$BIN/thruster" bench consume --namesrv "127.0.0.1:$ns" --topic BenchRemoting --group BenchRemotingGroup \
        --messages "$MESSAGES" --warmup-messages 0 --runs 1 2>&1 | grep -i 'msgs/s' |
        sed "s/^/round $round remoting consume: /" || echo "round $round remoting consume: FAILED (exit ${PIPESTATUS[0]})"
    else
      "$GRPC_BENCH" --target "127.0.0.1:$gport" --topic BenchGrpc --producers 4 --inflight 100 --size 1024 \
        --messages "$MESSAGES" 2>&1 | sed "s/^/round $round /" || echo "round $round grpc: FAILED (exit ${PIPESTATUS[0]})"
      "$GRPC_BENCH" --mode receive --target "127.0.0.1:$gport" --topic BenchGrpc --group BenchGrpcGroup \
        --consumers 4 --depth 4 --messages "$MESSAGES" 2>&1 | sed "s/^/round $round /" ||
        echo "round $round grpc receive: FAILED (exit ${PIPESTATUS[0]})"
    fi
    stop_broker
  done
done

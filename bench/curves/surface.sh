#!/usr/bin/env bash
# Producers x in-flight surface: `thruster bench produce` at every (producers, in-flight) pair against one
# fresh broker, 1 KiB messages; msgs/s, p50/p99, client and broker CPU per message, and whether the client was
# the limit. Writes $OUT/surface.csv.
#   PRODUCERS="1 4 16 64" INFLIGHT="1 10 100" MESSAGES=20000 SIZE=1024   (FULL=1: 1 2 4 8 16 32 64 x 1 2 5 10 20 50 100)
source "$(dirname "$0")/lib.sh"
if [[ ${FULL:-0} == 1 ]]; then PRODUCERS=${PRODUCERS:-"1 2 4 8 16 32 64"}; INFLIGHT=${INFLIGHT:-"1 2 5 10 20 50 100"}; fi
PRODUCERS=${PRODUCERS:-"1 4 16 64"}
INFLIGHT=${INFLIGHT:-"1 10 100"}
MESSAGES=${MESSAGES:-20000}
SIZE=${SIZE:-1024}
CURVE_KNOBS="PRODUCERS='$PRODUCERS' INFLIGHT='$INFLIGHT' MESSAGES=$MESSAGES SIZE=$SIZE"
csv_open surface producers inflight size messages msgs_per_sec p50_us p99_us client_cpu_us_per_msg \
  broker_cpu_us_per_msg client_bound errors
start_broker
for p in $PRODUCERS; do
  for f in $INFLIGHT; do
    # Fewer messages where few are in flight, so each point takes about as long.
    n=$MESSAGES
    ((p * f >= 16)) || n=$((MESSAGES / 4 > 500 ? MESSAGES / 4 : 500))
    out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Surface --size "$SIZE" --producers "$p" \
      --inflight "$f" --messages "$n" --runs 1 --warmup-bytes $((n * SIZE / 4)) --broker-pid "$BROKER_PID" \
      --json </dev/null) || true
    read -r rate p50 p99 ccpu bcpu bound errs <<<"$(jget "$out" msgs_per_sec p50_us p99_us client_cpu_us_per_msg \
      broker_cpu_us_per_msg client_bound errors)"
    csv_row "$p" "$f" "$SIZE" "$n" "$rate" "$p50" "$p99" "$ccpu" "$bcpu" "$bound" "$errs"
  done
done

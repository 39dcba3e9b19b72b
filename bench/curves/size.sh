#!/usr/bin/env bash
# Message size: `thruster bench produce` (4 producers) at each body size against a fresh broker, about BYTES
# per point, with `dd oflag=direct` writing the same bytes to the same file system in the same run. msgs/s,
# MB/s (10^6), p99, the share of dd's bandwidth, CPU per message. Writes $OUT/size.csv.
#   SIZES="64 256 1024 4096 16384 65536 262144 1048576" BYTES=134217728 MAX_MESSAGES=200000
# In flight per producer: 100, fewer for big bodies (at most 32 MiB in flight in all).
source "$(dirname "$0")/lib.sh"
SIZES=${SIZES:-"64 256 1024 4096 16384 65536 262144 1048576"}
BYTES=${BYTES:-134217728}
MAX_MESSAGES=${MAX_MESSAGES:-200000}
PRODUCERS=4
CURVE_KNOBS="SIZES='$SIZES' BYTES=$BYTES MAX_MESSAGES=$MAX_MESSAGES"
csv_open size size messages inflight msgs_per_sec mb_per_sec p99_us dd_mb_per_sec share_of_dd \
  client_cpu_us_per_msg broker_cpu_us_per_msg client_bound errors
for s in $SIZES; do
  n=$((BYTES / s))
  ((n <= MAX_MESSAGES)) || n=$MAX_MESSAGES
  ((n >= 64)) || n=64
  f=$((33554432 / (s * PRODUCERS)))
  ((f <= 100)) || f=100
  ((f >= 1)) || f=1
  start_broker
  out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Size --size "$s" --producers $PRODUCERS \
    --inflight "$f" --messages "$n" --runs 1 --warmup-bytes $((n * s / 4)) --broker-pid "$BROKER_PID" \
    --json </dev/null) || true
  read -r rate mbs p99 ccpu bcpu bound errs <<<"$(jget "$out" msgs_per_sec mb_per_sec p99_us \
    client_cpu_us_per_msg broker_cpu_us_per_msg client_bound errors)"
  [[ -n $rate ]] || echo "size $s: $out" >&2
  dd=$(dd_write_mbs "$STORE" $((n * s)))
  share=$(python3 -c "import sys; a, b = sys.argv[1:]; print(round(float(a) / float(b), 3) if a and b else '')" \
    "$mbs" "$dd")
  csv_row "$s" "$n" "$f" "$rate" "$mbs" "$p99" "$dd" "$share" "$ccpu" "$bcpu" "$bound" "$errs"
  stop_broker
done

#!/usr/bin/env bash
# Connections: CONNS producer connections to one broker, ACTIVE of them sending (`thruster bench produce`,
# 4 producers x 100 in flight over 4 connections, 1 KiB) and the rest open and idle (one HEART_BEAT each,
# `--idle-connections`). Throughput, p99, and the broker's RSS growth per idle connection. The open-file
# limit is raised to the hard limit (the broker inherits it). Writes $OUT/connections.csv.
#   CONNS="10 100 1000 10000" MESSAGES=50000
source "$(dirname "$0")/lib.sh"
CONNS=${CONNS:-"10 100 1000 10000"}
MESSAGES=${MESSAGES:-50000}
ACTIVE=4
ulimit -n "$(ulimit -Hn)"
CURVE_KNOBS="CONNS='$CONNS' MESSAGES=$MESSAGES"
csv_open connections connections active idle msgs_per_sec p99_us broker_rss_kb_before broker_rss_kb_idle_open \
  broker_rss_kb_per_idle_connection broker_cpu_us_per_msg client_bound errors
for c in $CONNS; do
  idle=$((c > ACTIVE ? c - ACTIVE : 0))
  start_broker
  out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Conns --producers $ACTIVE \
    --connections $ACTIVE --inflight 100 --messages "$MESSAGES" --runs 1 --warmup-bytes $((MESSAGES * 256)) \
    --idle-connections "$idle" --broker-pid "$BROKER_PID" --json </dev/null) || true
  read -r rate p99 before opened bcpu bound errs <<<"$(jget "$out" msgs_per_sec p99_us broker_rss_kb_before \
    broker_rss_kb_idle_open broker_cpu_us_per_msg client_bound errors)"
  [[ -n $rate ]] || echo "$c connections: $out" >&2
  per=$(python3 -c "import sys; a, b, n = sys.argv[1:]; print(round((float(b) - float(a)) / int(n), 2) \
if a and b and int(n) > 0 and float(b) >= 0 else '')" "$before" "$opened" "$idle")
  csv_row "$c" $ACTIVE "$idle" "$rate" "$p99" "$before" "$opened" "$per" "$bcpu" "$bound" "$errs"
  stop_broker
done

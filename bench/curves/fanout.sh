#!/usr/bin/env bash
# Fan-out: one topic's backlog (MESSAGES x 1 KiB, 8 queues) read by 1 -> 16 consumer groups at once, each a
# `thruster bench consume` process of its own group (fresh groups per point, offsets not committed).
# The groups' measured reads start together (--start-at-ms, a few seconds after launch, past start-up and
# route lookups): aggregate msgs/s = messages read by all groups / (the last group's end - the first start);
# broker CPU per message delivered over the whole point. Writes $OUT/fanout.csv.
#   GROUPS_LIST="1 2 4 8 16" MESSAGES=100000
source "$(dirname "$0")/lib.sh"
GROUPS_LIST=${GROUPS_LIST:-"1 2 4 8 16"}
MESSAGES=${MESSAGES:-100000}
CURVE_KNOBS="GROUPS_LIST='$GROUPS_LIST' MESSAGES=$MESSAGES"
csv_open fanout groups backlog aggregate_msgs_per_sec median_group_msgs_per_sec broker_cpu_us_per_msg errors
start_broker
out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Fanout --messages "$MESSAGES" --runs 1 \
  --warmup-bytes 0 --json </dev/null) || true
[[ -n $(jget "$out" msgs_per_sec) ]] || { echo "produce: $out" >&2; exit 1; }
for g in $GROUPS_LIST; do
  c0=$(broker_cpu_s)
  t0=$(date +%s.%N)
  pids=()
  start_at=$(( $(date +%s%3N) + 2000 + 250 * g ))
  for ((i = 0; i < g; i++)); do
    "$BIN/thruster" bench consume --namesrv "127.0.0.1:$NP" --topic Fanout --group "Fan$g-$i" --runs 1 \
      --warmup-messages 0 --commit false --start-at-ms "$start_at" --json </dev/null >"$CURVE_WORK/fan-$i.json" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  t1=$(date +%s.%N)
  c1=$(broker_cpu_s)
  read -r agg med cpu errs <<<"$(python3 - "$CURVE_WORK" "$g" "$t0" "$t1" "$c0" "$c1" <<'PY'
import json, statistics, sys
work, g, t0, t1, c0, c1 = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
rates, msgs, errs, starts, ends = [], 0, 0, [], []
for i in range(g):
    try:
        d = json.load(open(f"{work}/fan-{i}.json"))
    except Exception:
        errs += 1
        continue
    rates.append(d["msgs_per_sec"]); msgs += d["messages"]; errs += d["errors"]
    starts.append(d["started_ms"]); ends.append(d["ended_ms"])
wall = (max(ends) - min(starts)) / 1000 if starts else t1 - t0
print(round(msgs / wall), round(statistics.median(rates)) if rates else "",
      round((c1 - c0) * 1e6 / msgs, 2) if msgs else "", errs)
PY
)"
  csv_row "$g" "$MESSAGES" "$agg" "$med" "$cpu" "$errs"
done

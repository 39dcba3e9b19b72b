#!/usr/bin/env bash
# Appending threads: `thruster bench store --threads N` (the store alone, no network), async and sync flush,
# 1 KiB messages. msgs/s, MB/s, p50/p99 of one append. Writes $OUT/store-threads.csv.
#   THREADS="1 2 4 8 16" MESSAGES=400000 SYNC_MESSAGES=40000
source "$(dirname "$0")/lib.sh"
THREADS=${THREADS:-"1 2 4 8 16"}
MESSAGES=${MESSAGES:-400000}
SYNC_MESSAGES=${SYNC_MESSAGES:-40000}
CURVE_KNOBS="THREADS='$THREADS' MESSAGES=$MESSAGES SYNC_MESSAGES=$SYNC_MESSAGES"
csv_open store-threads flush threads messages msgs_per_sec mb_per_sec p50_us p99_us
for flush in async sync; do
  n=$MESSAGES
  [[ $flush == async ]] || n=$SYNC_MESSAGES
  for t in $THREADS; do
    dir="$CURVE_WORK/store-$flush-$t"
    out=$("$BIN/thruster" bench store --dir "$dir" --messages "$n" --size 1024 --flush "$flush" --threads "$t" \
      --json </dev/null) || true
    rm -rf "$dir"
    read -r rate mbs p50 p99 <<<"$(jget "$out" msgs_per_sec mb_per_sec p50_us p99_us)"
    [[ -n $rate ]] || echo "$flush x $t: $out" >&2
    csv_row "$flush" "$t" "$n" "$rate" "$mbs" "$p50" "$p99"
  done
done

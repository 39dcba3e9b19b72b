#!/usr/bin/env bash
# What the message journey's fetch record costs: against a fresh thruster-broker per run, `thruster bench
# produce` (4 producers x 100 in flight, 1 KiB) and then `thruster bench consume` (pulls of the same messages),
# with messageJourneyEnable=true (on, the default) and false (off), in rounds that alternate the two so the
# machine's drift falls on both alike. Prints msgs/s per run and the medians.
# Usage: bench/journey-cost.sh [ROUNDS] [MESSAGES]   (needs `make build`; BIN=build/asan/apps to use another build)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
MESSAGES=${2:-200000}
BIN=${BIN:-build/release/apps}
WORK=$(mktemp -d)
source bench/lib.sh
trap 'stop_broker; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
rate() { json_field "$1" msgs_per_sec; }

declare -A PRODUCE CONSUME
echo "# $(date -u '+%F %H:%M UTC'), $(nproc) cores, $MESSAGES msgs per run, $ROUNDS rounds, $BIN"
for ((r = 1; r <= ROUNDS; r++)); do
  for c in on off; do
    dir="$WORK/$c-$r"
    enable=$([[ $c == on ]] && echo true || echo false)
    launch_broker "$dir/store" "$dir/broker.log" --messageJourneyEnable="$enable" || exit 1
    np=$NAMESRV_PORT
    p=$(rate "$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$np" --topic JourneyBench --messages "$MESSAGES" \
      --runs 1 --warmup-bytes 0 --json </dev/null)")
    k=$(rate "$("$BIN/thruster" bench consume --namesrv "127.0.0.1:$np" --topic JourneyBench --messages "$MESSAGES" \
      --runs 1 --warmup-messages 0 --json </dev/null)")
    PRODUCE[$c]+="$p "
    CONSUME[$c]+="$k "
    echo "round $r journey $c: produce $p msgs/s, consume $k msgs/s"
    stop_broker
    rm -rf "$dir/store"
  done
done
python3 - "${PRODUCE[on]}" "${PRODUCE[off]}" "${CONSUME[on]}" "${CONSUME[off]}" <<'PY'
import statistics, sys
med = lambda s: statistics.median([int(x) for x in s.split() if x != "?"] or [0])
po, pf, co, cf = (med(a) for a in sys.argv[1:])
print(f"produce median: on {po:.0f}, off {pf:.0f} msgs/s (on/off {po / pf if pf else 0:.2f})")
print(f"consume median: on {co:.0f}, off {cf:.0f} msgs/s (on/off {co / cf if cf else 0:.2f})")
PY

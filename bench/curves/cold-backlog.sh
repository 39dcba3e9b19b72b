#!/usr/bin/env bash
# Cold backlog: BACKLOG_MB of 1 KiB messages are produced, the broker is stopped, every store file is dropped
# from the page cache (sync, then posix_fadvise DONTNEED; dropping works on pages no process maps, hence the
# restart), the broker is started again on that store, the disk's sequential read is measured with
# `dd iflag=direct` over the CommitLog files, and one consumer reads the whole backlog while a producer keeps
# sending to another topic. Consume MB/s against dd, the share of the store that was still cached when the
# consumer started (fincore), the producer's rate alone (before) and while the consumer reads.
# Writes $OUT/cold-backlog.csv.
#   BACKLOG_MB=256 (--big: 20480, the 20 GB of issue #18)
source "$(dirname "$0")/lib.sh"
BACKLOG_MB=${BACKLOG_MB:-256}
[[ ${1:-} == --big ]] && BACKLOG_MB=20480
MESSAGES=$((BACKLOG_MB * 1024))
CURVE_KNOBS="BACKLOG_MB=$BACKLOG_MB"
csv_open cold-backlog backlog_mb messages cached_pct_at_start disk_read_mb_per_sec consume_msgs_per_sec \
  consume_mb_per_sec share_of_disk producer_alone_msgs_per_sec producer_during_msgs_per_sec errors
cached_pct() {
  find "$1" -type f -size +0 -print0 | xargs -0 fincore --bytes --noheadings --raw -o RES,SIZE 2>/dev/null |
    awk '{r += $1; s += $2} END {print (s > 0 ? int(r * 1000 / s) / 10 : 0)}'
}
start_broker
store=$STORE
out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Backlog --messages "$MESSAGES" --runs 1 \
  --warmup-bytes 0 --json </dev/null) || true
[[ -n $(jget "$out" msgs_per_sec) ]] || { echo "produce: $out" >&2; exit 1; }
# The producer's rate alone, on the topic it will keep sending to during the cold read.
alone=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Live --messages $((MESSAGES / 8)) --runs 1 \
  --warmup-bytes 0 --json </dev/null) || true
kill "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
BROKER_PID=
sync
python3 - "$store" <<'PY'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        fd = os.open(os.path.join(root, f), os.O_RDONLY)
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
# The same store, so start_broker must not make (or later remove) a new one.
STORE=$store
BP=$(free_port); NP=$(free_port); hp=$(free_port)
"$BIN/thruster-broker" --storePathRootDir="$STORE" --listenPort="$BP" --namesrvListenPort="$NP" --haListenPort="$hp" \
  --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 --logTarget=stderr >"$CURVE_WORK/broker2.log" 2>&1 &
BROKER_PID=$!
wait_port "$BP" && wait_port "$NP" || { tail -n 30 "$CURVE_WORK/broker2.log" >&2; exit 1; }
# The disk's sequential read over the same bytes, not through the page cache.
# (at most the backlog's size from each segment: a segment is allocated whole, 1 GiB by default).
ddout=$(for f in "$STORE"/commitlog/*; do
  LC_ALL=C dd if="$f" of=/dev/null bs=1M iflag=direct count=$((BACKLOG_MB + 16)) 2>&1 | tail -n 1; done)
disk=$(python3 - "$ddout" <<'PY'
import re, sys
b = s = 0.0
for line in sys.argv[1].splitlines():
    m = re.match(r"(\d+) bytes.*copied, ([0-9.]+) s", line)
    if m: b += int(m.group(1)); s += float(m.group(2))
print(round(b / s / 1e6, 1) if s > 0 else "")
PY
)
cached=$(cached_pct "$STORE")
"$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Live --messages $((MESSAGES / 8)) --runs 1 \
  --warmup-bytes 0 --json </dev/null >"$CURVE_WORK/during.json" 2>&1 &
ppid=$!
cout=$("$BIN/thruster" bench consume --namesrv "127.0.0.1:$NP" --topic Backlog --group ColdReader --runs 1 \
  --warmup-messages 0 --commit false --json </dev/null) || true
wait "$ppid" || true
read -r crate cmbs cerrs <<<"$(jget "$cout" msgs_per_sec mb_per_sec errors)"
[[ -n $crate ]] || echo "consume: $cout" >&2
share=$(python3 -c "import sys; a, b = sys.argv[1:]; print(round(float(a) / float(b), 3) if a and b else '')" \
  "$cmbs" "$disk")
during=$(jget "$(cat "$CURVE_WORK/during.json")" msgs_per_sec 2>/dev/null || true)
csv_row "$BACKLOG_MB" "$MESSAGES" "$cached" "$disk" "$crate" "$cmbs" "$share" "$(jget "$alone" msgs_per_sec)" \
  "$during" "${cerrs:-}"

#!/usr/bin/env bash
# Shared by the cost-curve scripts (bench/curves/*.sh): a fresh thruster-broker per point, the CSV with the
# machine, date, commit and command on every row, and JSON field extraction. Sourced, not run.
#   BIN=DIR   the thruster and thruster-broker to run (default build/release/apps)
#   OUT=DIR   where <curve>.csv goes (default build/curves)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BIN=${BIN:-build/release/apps}
OUT=${OUT:-build/curves}
mkdir -p "$OUT"
source bench/lib.sh  # free_port, wait_port, launch_broker
for p in thruster thruster-broker; do
  [[ -x $BIN/$p ]] || { echo "$BIN/$p is missing (make build, or BIN=DIR)" >&2; exit 1; }
done
CURVE_WORK=$(mktemp -d "${TMPDIR:-/tmp}/thruster-curve.XXXXXX")
BROKER_PID=
NP=
BP=
curve_cleanup() {
  if [[ -n $BROKER_PID ]]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
  rm -rf "$CURVE_WORK"
}
trap curve_cleanup EXIT

# The columns every row starts with: the machine, when, which commit, and the command that made the file.
CURVE_NPROC=$(nproc)
CURVE_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo | tr -s ' ,' ' ' || true)
CURVE_MODEL=${CURVE_MODEL:-unknown}
CURVE_DATE=$(date -u '+%Y-%m-%dT%H:%MZ')
CURVE_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
CURVE_LOAD=$(cut -d' ' -f1 /proc/loadavg)
CURVE_CMD=
CURVE_CSV=
# csv_open NAME COLUMN... : starts $OUT/NAME.csv with its header; the command is this script and its
# arguments and the environment knobs that change the figures (given as CURVE_KNOBS="A=1 B=2").
csv_open() {
  local name=$1
  shift
  CURVE_CSV="$OUT/$name.csv"
  CURVE_CMD="bench/curves/$name.sh${CURVE_KNOBS:+ $CURVE_KNOBS}"
  CURVE_CMD=${CURVE_CMD//,/;}
  local cols
  cols=$(IFS=,; echo "$*")
  echo "nproc,cpu_model,date,commit,load_avg,command,$cols" >"$CURVE_CSV"
}
# csv_row VALUE... : one row (the load average is read anew for each row).
csv_row() {
  local vals
  vals=$(IFS=,; echo "$*")
  CURVE_LOAD=$(cut -d' ' -f1 /proc/loadavg)
  echo "$CURVE_NPROC,$CURVE_MODEL,$CURVE_DATE,$CURVE_COMMIT,$CURVE_LOAD,$CURVE_CMD,$vals" | tee -a "$CURVE_CSV"
}

# CURVE_KEEP_STORES=1 (set by a curve, not a knob): stop_broker leaves the point's store, and they all go when
# the curve ends. For curves that create many files: ext4 without a journal (this VM's disk) passes over every
# inode freed in the last 60-300 s when it allocates one, so a point that creates 10,000 files right after the
# previous point deleted 10,000 spends most of its dispatch thread in the kernel's inode search.
# start_broker [--key=value ...] : a fresh broker (name server inside) on free ports with an empty store
# under $CURVE_WORK; sets BROKER_PID, NP (name server port), BP (broker port), STORE.
start_broker() {
  stop_broker
  STORE="$CURVE_WORK/store-$RANDOM"
  launch_broker "$STORE" "$CURVE_WORK/broker.log" "$@" || { tail -n 30 "$CURVE_WORK/broker.log" >&2; exit 1; }
  BP=$BROKER_PORT
  NP=$NAMESRV_PORT
  # A first send waits for the first CommitLog segment, which a busy machine may take longer to allocate than
  # a send's timeout (3 s): a few small sends until one is answered, so the curve's own first send is not.
  local i
  for i in 1 2 3 4 5; do
    "$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic CurveWarmup --producers 1 --inflight 1 \
      --messages 10 --runs 1 --warmup-bytes 0 --json </dev/null >/dev/null 2>&1 && return 0
  done
  echo "the broker answered no send in 5 tries:" >&2
  tail -n 30 "$CURVE_WORK/broker.log" >&2
  exit 1
}
stop_broker() {
  if [[ -n $BROKER_PID ]]; then
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
  fi
  [[ -z ${STORE:-} || -n ${CURVE_KEEP_STORES:-} ]] || rm -rf "$STORE"
}
# jget JSON FIELD... : the fields of one JSON object, space-separated (numbers rounded to 2 decimals).
jget() {
  python3 - "$@" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
out = []
for k in sys.argv[2:]:
    v = d.get(k, "")
    if isinstance(v, bool): v = int(v)
    elif isinstance(v, float): v = round(v, 2)
    out.append(str(v))
print(" ".join(out))
PY
}
# The broker's CPU seconds so far (user + system) and RSS in KiB.
broker_cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / t }' "/proc/$BROKER_PID/stat"; }
broker_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$BROKER_PID/status"; }
# dd_write_mbs DIR BYTES : sequential O_DIRECT write bandwidth in MB/s (10^6) on DIR's file system.
dd_write_mbs() {
  local mb=$(( ($2 + 1048575) / 1048576 ))
  ((mb >= 16)) || mb=16
  local out
  out=$(LC_ALL=C dd if=/dev/zero of="$1/dd.bin" bs=1M count="$mb" oflag=direct conv=fsync 2>&1 | tail -n 1)
  rm -f "$1/dd.bin"
  dd_rate "$out"
}
# dd's last line ("... copied, 1.2 s, 850 MB/s") as MB/s.
dd_rate() {
  python3 - "$1" <<'PY'
import re, sys
m = re.search(r"copied, ([0-9.]+) s", sys.argv[1])
b = re.match(r"(\d+) bytes", sys.argv[1])
print(round(int(b.group(1)) / float(m.group(1)) / 1e6, 1) if m and b and float(m.group(1)) > 0 else "")
PY
}

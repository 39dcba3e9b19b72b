#!/usr/bin/env bash
# Broker CPU per message, per thread: starts a fresh thruster-broker (ASYNC_FLUSH unless told otherwise), runs
# `thruster bench produce` against it (4 producers x 100 in flight, 1 KiB by default), and reads every broker
# thread's utime + stime from /proc/<pid>/task/*/stat right before and right after the measured run. Prints, per
# thread name (net-0, net-1, ... summed as net-*), the CPU time divided by the messages stored, in us per message,
# with its user and system parts, and the broker's total. The client runs on the same machine: on a small machine
# its CPU competes with the broker's, so compare builds or settings with runs made one right after the other.
# Usage: bench/cpu-per-message.sh [MESSAGES] [PRODUCERS] [INFLIGHT] [SIZE] [BROKER FLAGS...]   (needs `make build`)
#   e.g. bench/cpu-per-message.sh 400000 4 100 1024 --commitLogCacheKeepMb=0
#   BIN=DIR bench/cpu-per-message.sh ...   runs the thruster-broker and thruster in DIR
#   WARMUP=N   messages of the warm-up run before the measured one (default MESSAGES/4). A fresh store's first
#              gigabytes are written into memory the kernel has not handed out yet, which the `allocate` thread
#              pays for when it pre-faults them; with WARMUP past commitLogCacheKeepMb's keep the measured run
#              writes into recycled page frames, as a broker does in steady state (e.g. WARMUP=1500000).
#   PERF=FILE  also `perf record -g` the broker over the measured run into FILE (where the time goes, kernel
#              included: `perf report -i FILE --no-children --sort comm,dso,sym`); PERF_FLAGS replaces its -g
#              (e.g. "--call-graph dwarf -F 999" where frame pointers are missing).
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-400000}
WARMUP=${WARMUP:-}
PRODUCERS=${2:-4}
INFLIGHT=${3:-100}
SIZE=${4:-1024}
shift $(($# < 4 ? $# : 4))
BIN=${BIN:-build/release/apps}
WORK=$(mktemp -d)
PID=
trap 'if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# One line per broker thread: "<tid> <name> <utime+stime in clock ticks>". The name is the field in parentheses
# (it may hold spaces); utime and stime are fields 14 and 15 of the whole line.
sample() {
  for f in /proc/"$PID"/task/*/stat; do
    line=$(cat "$f" 2>/dev/null) || continue
    name=${line#*(}
    name=${name%)*}
    rest=${line##*) }
    read -r -a fields <<<"$rest"
    # fields[0] is field 3 (state): utime = field 14 = fields[11], stime = fields[12].
    tid=${f#/proc/"$PID"/task/}
    tid=${tid%/stat}
    echo "$tid ${name// /_} ${fields[11]} ${fields[12]}"
  done
}

bp=$(free_port)
np=$(free_port)
hp=$(free_port)
mkdir -p "$WORK/store"
"$BIN/thruster-broker" --storePathRootDir="$WORK/store" --listenPort="$bp" --namesrvListenPort="$np" \
  --haListenPort="$hp" --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 --logTarget=stderr "$@" >"$WORK/broker.log" 2>&1 &
PID=$!
if ! wait_port "$bp" || ! wait_port "$np"; then
  echo "broker did not start:"
  tail -n 30 "$WORK/broker.log"
  exit 1
fi
# A warm-up run first (topic creation, route lookups, the first segments), then the measured one.
"$BIN/thruster" bench produce --namesrv "127.0.0.1:$np" --producers "$PRODUCERS" --inflight "$INFLIGHT" \
  --size "$SIZE" --messages "${WARMUP:-$((MESSAGES / 4))}" --runs 1 --warmup-bytes 0 --json </dev/null >/dev/null ||
  true
PERF_PID=
if [[ -n ${PERF:-} ]]; then
  # shellcheck disable=SC2086
  perf record -q ${PERF_FLAGS:--g} -p "$PID" -o "$PERF" 2>"$WORK/perf.log" &
  PERF_PID=$!
  for _ in $(seq 1 100); do grep -q . "$WORK/perf.log" 2>/dev/null || [[ -s $PERF ]] && break; sleep 0.05; done
fi
sample >"$WORK/before"
out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$np" --producers "$PRODUCERS" --inflight "$INFLIGHT" \
  --size "$SIZE" --messages "$MESSAGES" --runs 1 --warmup-bytes 0 --json </dev/null) || true
sample >"$WORK/after"
if [[ -n $PERF_PID ]]; then
  kill -INT "$PERF_PID"
  wait "$PERF_PID" || true
fi
python3 - "$WORK/before" "$WORK/after" "$MESSAGES" "$(getconf CLK_TCK)" "$out" "$PRODUCERS" "$INFLIGHT" "$SIZE" \
  "${WARMUP:-$((MESSAGES / 4))}" <<'PY'
import json, re, sys
def load(path):
    d = {}
    for line in open(path):
        tid, name, user, system = line.split()
        d[tid] = (name, int(user), int(system))
    return d
before, after = load(sys.argv[1]), load(sys.argv[2])
messages, hz = int(sys.argv[3]), int(sys.argv[4])
try:
    run = json.loads(sys.argv[5])
except ValueError:
    run = {}
rate = run.get("msgs_per_sec")
if run.get("first_error"):
    print("send errors (the figures count every message asked for):", run["first_error"])
groups = {}
for tid, (name, user, system) in after.items():
    _, user0, system0 = before.get(tid, (name, 0, 0))
    key = re.sub(r"-\d+$", "-*", name)
    g = groups.setdefault(key, [0, 0])
    g[0] += user - user0
    g[1] += system - system0
total = sum(u + k for u, k in groups.values())
us = lambda ticks: ticks / hz * 1e6 / messages
print(f"# {messages} msgs of {sys.argv[8]} B, {sys.argv[6]} producers x {sys.argv[7]} in flight"
      + (f", {rate:.0f} msgs/s" if rate else "") + f", after a warm-up of {sys.argv[9]} msgs")
print(f"{'thread':16} {'us/msg':>8} {'share':>6} {'user':>6} {'system':>6}")
for key, (u, k) in sorted(groups.items(), key=lambda kv: -sum(kv[1])):
    if u + k <= 0:
        continue
    print(f"{key:16} {us(u + k):8.2f} {(u + k) / total if total else 0:6.0%} {us(u):6.2f} {us(k):6.2f}")
user_total = sum(u for u, _ in groups.values())
print(f"{'broker total':16} {us(total):8.2f} {'':6} {us(user_total):6.2f} {us(total - user_total):6.2f}")
PY

#!/usr/bin/env bash
# Instructions the broker executes per message stored, per thread and per function: each BROKER binary runs
# under callgrind (one thread at a time, so the count does not move with the machine's load), takes a warm-up
# `thruster bench produce`, has its counters zeroed, takes the measured run (P producers x F in flight, SIZE
# bytes, ASYNC_FLUSH unless BROKER FLAGS say otherwise), and dumps. Prints Ir per message for the whole broker
# and per thread name (net-0, net-1, ... summed as net-*), then the functions that cost most (self cost, all
# threads, by bench/callgrind_self.py). Counts user-space instructions only: the kernel's page faults
# and syscalls are not in them (bench/cpu-per-message.sh measures CPU time, kernel included).
# Usage: bench/instructions-per-message.sh BROKER... [-- BROKER FLAGS...]   (e.g. build/release/apps/thruster-broker)
#   env: MESSAGES=20000 SHAPE=4x100 SIZE=1024 THRUSTER=build/release/apps/thruster TOP=25 KEEP=dir (keeps the dumps)
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${MESSAGES:-20000}
SHAPE=${SHAPE:-4x100}
SIZE=${SIZE:-1024}
THRUSTER=${THRUSTER:-build/release/apps/thruster}
TOP=${TOP:-25}
P=${SHAPE%x*}
F=${SHAPE#*x}
brokers=()
while (($#)) && [[ $1 != -- ]]; do brokers+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
((${#brokers[@]})) || brokers=(build/release/apps/thruster-broker)
source bench/lib.sh
WORK=$(mktemp -d)
VGPID=
trap '[[ -z $VGPID ]] || { kill "$VGPID" 2>/dev/null; wait "$VGPID" 2>/dev/null; }; rm -rf "$WORK"' EXIT

produce() {  # produce MESSAGES -> the run's JSON on stdout
  "$THRUSTER" bench produce --namesrv "127.0.0.1:$np" --topic IrPerMessage --producers "$P" --inflight "$F" \
    --size "$SIZE" --messages "$1" --runs 1 --warmup-bytes 0 --json </dev/null
}

echo "# $(date -u '+%F %H:%M UTC'), $SHAPE x $SIZE B, $MESSAGES measured messages, broker under callgrind"
for broker in "${brokers[@]}"; do
  rm -rf "$WORK/store" "$WORK"/cg.*
  bp=$(free_port); np=$(free_port); hp=$(free_port)
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.out" \
    "$broker" --storePathRootDir="$WORK/store" --listenPort="$bp" --namesrvListenPort="$np" --haListenPort="$hp" \
    --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 --logTarget=stderr "$@" >"$WORK/broker.log" 2>&1 &
  VGPID=$!
  if ! wait_port "$bp" 1200 || ! wait_port "$np" 1200; then
    echo "$broker did not start under callgrind:" >&2
    tail -n 20 "$WORK/broker.log" >&2
    exit 1
  fi
  # Topic creation, routes, the first segment and the first consume-queue file happen in the warm-up. The
  # first sends to a new topic can find no route yet (the broker registers it with the name server a moment
  # later, slowly under callgrind): small sends until one run goes through, then the warm-up proper.
  for i in $(seq 1 20); do
    produce 10 >/dev/null 2>&1 && break
    ((i < 20)) || { echo "$broker answered no send in 20 tries" >&2; tail -n 20 "$WORK/broker.log" >&2; exit 1; }
  done
  produce $((MESSAGES / 4)) >"$WORK/warmup.json" || { echo "warm-up failed: $(cat "$WORK/warmup.json")" >&2; exit 1; }
  callgrind_control --zero "$VGPID" >/dev/null
  out=$(produce "$MESSAGES") || true
  callgrind_control --dump=measured "$VGPID" >/dev/null
  for t in $(ls /proc/"$VGPID"/task | sort -n); do echo "$t $(cat /proc/"$VGPID"/task/"$t"/comm)"; done >"$WORK/names.txt"
  kill "$VGPID"
  wait "$VGPID" 2>/dev/null || true
  VGPID=
  if [[ $(json_field "$out" errors 1) != 0 ]]; then
    echo "$broker: the measured run had errors: $out" >&2
    exit 1
  fi
  # The measured dump: one file per thread (cg.out.<part>-<thread number>), thread numbers in creation order,
  # as are the kernel's thread ids, which name them (names.txt, read before the kill).
  dumps=$(grep -l 'measured' "$WORK"/cg.out.*-* 2>/dev/null || true)
  [[ -n $dumps ]] || { echo "no dump from $broker" >&2; ls "$WORK" >&2; exit 1; }
  echo "== $broker ($(json_field "$out" msgs_per_sec) msgs/s under callgrind)"
  python3 - "$MESSAGES" "$WORK/names.txt" $dumps <<'PY'
import re, sys
messages = int(sys.argv[1])
names = [l.split(None, 1)[1].strip() for l in open(sys.argv[2]) if l.strip()]
groups, total = {}, 0
for path in sys.argv[3:]:
    n = int(re.search(r"-(\d+)$", path).group(1))
    ir = 0
    for line in open(path, errors="replace"):
        if line.startswith("totals:") or (ir == 0 and line.startswith("summary:")):
            ir = int(line.split()[1])
    name = names[n - 1] if 0 < n <= len(names) else f"thread-{n}"
    key = re.sub(r"-\d+$", "-*", name)
    groups[key] = groups.get(key, 0) + ir
    total += ir
print(f"{'thread':16} {'Ir/msg':>10} {'share':>6}")
for key, ir in sorted(groups.items(), key=lambda kv: -kv[1]):
    if ir * 1000 < total:
        continue
    print(f"{key:16} {ir / messages:10.0f} {ir / total:6.1%}")
print(f"{'broker total':16} {total / messages:10.0f}")
PY
  # Self cost per function over every thread (bench/callgrind_self.py reads the dumps directly).
  python3 bench/callgrind_self.py "$MESSAGES" "$TOP" $dumps | cut -c1-160
  if [[ -n ${KEEP:-} ]]; then mkdir -p "$KEEP"; cp $dumps "$KEEP/"; fi
done

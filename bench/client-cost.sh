#!/usr/bin/env bash
# Instructions the benchmark client executes per message sent, for one or more `thruster` binaries against
# the same fresh broker: each runs `bench produce` (P producers x F in flight, 1 KiB) under callgrind twice,
# with N1 and N2 messages, and (Ir(N2) - Ir(N1)) / (N2 - N1) is its cost per message (start-up, connection
# and route set-up cancel out). Instruction counts do not move with the machine's load, unlike msgs/s.
# Usage: bench/client-cost.sh THRUSTER... (env: SHAPE=4x100 N1=5000 N2=15000 BROKER=path/to/thruster-broker)
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPE=${SHAPE:-4x100}
N1=${N1:-5000}
N2=${N2:-15000}
BROKER=${BROKER:-build/release/apps/thruster-broker}
P=${SHAPE%x*}
F=${SHAPE#*x}
work=$(mktemp -d)
bpid=
trap '[[ -z $bpid ]] || kill "$bpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bp=$(port); np=$(port); hp=$(port)
"$BROKER" --storePathRootDir="$work/store" --listenPort="$bp" --namesrvListenPort="$np" --haListenPort="$hp" \
  --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 --logTarget=stderr >"$work/broker.log" 2>&1 &
bpid=$!
for _ in $(seq 1 400); do (exec 3<>"/dev/tcp/127.0.0.1/$np") 2>/dev/null && break; sleep 0.05; done
ir() {  # ir THRUSTER MESSAGES -> total instructions of the client process (all threads)
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$1" bench produce --namesrv "127.0.0.1:$np" \
    --topic ClientCost --producers "$P" --inflight "$F" --messages "$2" --runs 1 --warmup-bytes 0 --json \
    >"$work/out.json" 2>"$work/vg.log" || { cat "$work/vg.log" "$work/out.json" >&2; return 1; }
  grep -q '"errors":0' "$work/out.json" || { cat "$work/out.json" >&2; return 1; }
  awk '/^totals:/ {print $2}' "$work"/cg.* | paste -sd+ | bc
  rm -f "$work"/cg.*
}
# One untimed send first, so the broker has the topic and its files before any measured client starts.
"${1}" bench produce --namesrv "127.0.0.1:$np" --topic ClientCost --messages 1000 --runs 1 --warmup-bytes 0 \
  --json >/dev/null
echo "# $(date -u '+%F %H:%M UTC'), $SHAPE x 1 KiB, Ir per message = (Ir($N2) - Ir($N1)) / $((N2 - N1))"
for bin in "$@"; do
  a=$(ir "$bin" "$N1")
  b=$(ir "$bin" "$N2")
  echo "$bin: $(( (b - a) / (N2 - N1) )) instructions per message (Ir $a at $N1, $b at $N2)"
done

#!/usr/bin/env bash
# Two `thruster` clients against the same broker build, in alternating rounds (A B, B A, ...; a fresh broker
# per run), so the machine's drift falls on both alike: `bench produce` msgs/s and the client's CPU per message
# (user + system of the whole client process from /usr/bin/time, over MESSAGES sends; no warm-up, so start-up
# is included and negligible at the default size). Prints each run, then the medians and B / A.
# Usage: bench/client-ab.sh THRUSTER_A THRUSTER_B [ROUNDS] (env: SHAPE=4x100 MESSAGES=200000
#   BROKER=build/release/apps/thruster-broker)
set -euo pipefail
A=$1
B=$2
ROUNDS=${3:-3}
SHAPE=${SHAPE:-4x100}
MESSAGES=${MESSAGES:-200000}
BROKER=${BROKER:-build/release/apps/thruster-broker}
work=$(mktemp -d)
bpid=
trap '[[ -z $bpid ]] || kill "$bpid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() {  # run THRUSTER -> "msgs/s client-us/msg"
  rm -rf "$work/store"
  local bp np hp
  bp=$(port); np=$(port); hp=$(port)
  "$BROKER" --storePathRootDir="$work/store" --listenPort="$bp" --namesrvListenPort="$np" --haListenPort="$hp" \
    --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 --logTarget=stderr >"$work/broker.log" 2>&1 &
  bpid=$!
  for _ in $(seq 1 400); do (exec 3<>"/dev/tcp/127.0.0.1/$np") 2>/dev/null && break; sleep 0.05; done
  # The topic and the first segment exist before the measured client starts.
  "$1" bench produce --namesrv "127.0.0.1:$np" --topic AB --messages 2000 --runs 1 --warmup-bytes 0 --json \
    >/dev/null </dev/null || true
  /usr/bin/time -f '%U %S' -o "$work/time" "$1" bench produce --namesrv "127.0.0.1:$np" --topic AB \
    --producers "${SHAPE%x*}" --inflight "${SHAPE#*x}" --messages "$MESSAGES" --runs 1 --warmup-bytes 0 --json \
    >"$work/out.json" </dev/null || true
  kill "$bpid"; wait "$bpid" 2>/dev/null || true; bpid=
  python3 - "$work/out.json" "$work/time" "$MESSAGES" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
u, s = map(float, open(sys.argv[2]).read().split()[-2:])
print(round(d["msgs_per_sec"]), round((u + s) * 1e6 / int(sys.argv[3]), 2), d["errors"])
PY
}
echo "# $(date -u '+%F %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), $SHAPE x 1 KiB, $MESSAGES msgs, A=$A B=$B"
ra=() rb=() ca=() cb=()
for ((r = 1; r <= ROUNDS; r++)); do
  order=(A B)
  ((r % 2)) || order=(B A)
  for w in "${order[@]}"; do
    bin=$A; [[ $w == B ]] && bin=$B
    read -r rate cpu errs <<<"$(run "$bin")"
    echo "round $r $w: $rate msgs/s, client $cpu us/msg, errors $errs"
    if [[ $w == A ]]; then ra+=("$rate"); ca+=("$cpu"); else rb+=("$rate"); cb+=("$cpu"); fi
  done
done
python3 - "${ra[*]}" "${rb[*]}" "${ca[*]}" "${cb[*]}" <<'PY'
import statistics as st, sys
ra, rb, ca, cb = ([float(x) for x in a.split()] for a in sys.argv[1:])
print(f"median A: {st.median(ra):.0f} msgs/s, {st.median(ca):.2f} us/msg client CPU")
print(f"median B: {st.median(rb):.0f} msgs/s, {st.median(cb):.2f} us/msg client CPU")
print(f"B / A: msgs/s {st.median(rb) / st.median(ra):.2f}, client CPU per message {st.median(cb) / st.median(ca):.2f}")
PY

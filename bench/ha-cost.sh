#!/usr/bin/env bash
# What replication costs the produce path: `thruster bench produce` (4 producers x 100 in flight, 1 KiB) against
# a fresh master per run, in each configuration below, in rounds that alternate the configurations so that the
# machine's drift falls on all of them alike. While the producers run, a sampler asks master and slave for their
# CommitLog max offsets every 50 ms; the replication lag is the difference (bytes). Prints msgs/s per run and,
# per configuration, the median rate, its ratio to `single`, and the lag (median of the runs' p50 / p99 / max).
#   single     one ASYNC_MASTER, no slave
#   async      ASYNC_MASTER + a slave
#   sync       SYNC_MASTER + a slave (SEND_OK once the slave holds the record)
#   syncflush  SYNC_MASTER + SYNC_FLUSH + a slave (and on the master's disk)
# Usage: bench/ha-cost.sh [ROUNDS] [MESSAGES] [CONFIGS...]   (needs `make build`)
#   BIN=DIR bench/ha-cost.sh ...   runs the thruster-broker and thruster in DIR
#   SEGMENT=BYTES                   CommitLog segment size (128 MiB; a first 1 GiB segment can take longer to
#                                   allocate on a busy disk than the first send may wait)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
MESSAGES=${2:-200000}
shift 2 || true
CONFIGS=("$@")
((${#CONFIGS[@]})) || CONFIGS=(single async sync syncflush)
BIN=${BIN:-build/release/apps}
SEGMENT=${SEGMENT:-134217728}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_log LOG PATTERN: until LOG has a line matching PATTERN (20 s).
wait_log() {
  for _ in $(seq 1 400); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.05  # polling a log file for a line, with a deadline
  done
  return 1
}

# The lag sampler: GET_BROKER_RUNTIME_INFO (28) to master and slave, one JSON-header request each, every 50 ms
# until $WORK/stop exists; prints "p50 p99 max" of master max offset - slave max offset (bytes, >= 0). The master
# is read first, so a sample errs towards a smaller lag by what the master appended in between (microseconds).
cat >"$WORK/sampler.py" <<'EOF'
import json, os, socket, struct, sys, time
def conn(addr):
    h, p = addr.rsplit(":", 1)
    s = socket.create_connection((h, int(p)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError
        b += c
    return b
def max_offset(s, opaque):
    hdr = json.dumps({"code": 28, "flag": 0, "language": "JAVA", "opaque": opaque,
                      "serializeTypeCurrentRPC": "JSON", "version": 409}).encode()
    s.sendall(struct.pack(">ii", 4 + len(hdr), len(hdr)) + hdr)
    n = struct.unpack(">i", recvn(s, 4))[0]
    d = recvn(s, n)
    hl = struct.unpack(">i", d[:4])[0] & 0xFFFFFF
    return int(json.loads(d[4 + hl:])["table"]["commitLogMaxOffset"])
master, slave, stop = conn(sys.argv[1]), conn(sys.argv[2]), sys.argv[3]
lags, i = [], 0
while not os.path.exists(stop):
    i += 1
    m = max_offset(master, 2 * i)
    lags.append(max(0, m - max_offset(slave, 2 * i + 1)))
    time.sleep(0.05)
lags.sort()
q = lambda f: lags[min(len(lags) - 1, int(f * len(lags)))] if lags else -1
print(q(0.5), q(0.99), lags[-1] if lags else -1)
EOF

master_args() {
  case $1 in
    single | async) echo "--brokerRole=ASYNC_MASTER" ;;
    sync) echo "--brokerRole=SYNC_MASTER" ;;
    syncflush) echo "--brokerRole=SYNC_MASTER --flushDiskType=SYNC_FLUSH" ;;
  esac
}

declare -A RESULTS LAGS
echo "# $(date -u '+%F %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
  "4x100 x 1 KiB, $MESSAGES msgs per run, $ROUNDS rounds"
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${CONFIGS[@]}"; do
    dir="$WORK/$c-$r"
    mkdir -p "$dir/master" "$dir/slave"
    bp=$(free_port)
    np=$(free_port)
    hp=$(free_port)
    # shellcheck disable=SC2046  # the args are lists of flags
    "$BIN/thruster-broker" --storePathRootDir="$dir/master" --listenPort="$bp" --namesrvListenPort="$np" \
      --haListenPort="$hp" --mappedFileSizeCommitLog="$SEGMENT" --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 \
      --logTarget=stderr $(master_args "$c") >"$dir/master.log" 2>&1 &
    PIDS=($!)
    wait_log "$dir/master.log" "listening on" || { echo "$c: master did not start:"; tail -n 30 "$dir/master.log"; exit 1; }
    # The producer routes through the name server: wait (20 s) until the master registered its default topic there.
    for _ in $(seq 1 400); do
      "$BIN/thruster" admin topicRoute -n "127.0.0.1:$np" -t TBW102 >/dev/null 2>&1 && break
      sleep 0.05  # polling the name server for a route, with a deadline
    done
    if [[ $c != single ]]; then
      sp=$(free_port)
      shp=$(free_port)
      "$BIN/thruster-broker" --storePathRootDir="$dir/slave" --listenPort="$sp" --haListenPort="$shp" \
        --mappedFileSizeCommitLog="$SEGMENT" --namesrvAddr="127.0.0.1:$np" --brokerRole=SLAVE --brokerId=1 \
        --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 --logTarget=stderr >"$dir/slave.log" 2>&1 &
      PIDS+=($!)
      wait_log "$dir/slave.log" "HA: connected to master" ||
        { echo "$c: slave did not connect:"; tail -n 30 "$dir/slave.log"; exit 1; }
      python3 "$WORK/sampler.py" "127.0.0.1:$bp" "127.0.0.1:$sp" "$dir/stop" >"$dir/lag" &
      sampler=$!
    fi
    out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$np" --messages "$MESSAGES" --runs 1 \
      --warmup-bytes $((MESSAGES * 256)) --json </dev/null) || true  # exits 1 on send errors
    rate=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(int(d["msgs_per_sec"]))' "$out" 2>/dev/null ||
      echo "?")
    [[ $rate == "?" ]] && echo "$c: could not read the rate from: $out"
    errs=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("first_error",""))' "$out" 2>/dev/null || true)
    [[ -n $errs ]] && echo "$c: send errors (the rate counts only acknowledged sends): $errs"
    RESULTS[$c]+="$rate "
    line="round $r $c: $rate msgs/s"
    if [[ $c != single ]]; then
      touch "$dir/stop"
      wait "$sampler" || true
      lag=$(cat "$dir/lag")
      LAGS[$c]+="${lag// /:} "
      line+=", lag p50/p99/max ${lag// //} bytes"
    fi
    echo "$line"
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
    rm -rf "$dir"
  done
done

# "?" (a rate that could not be read) is left out of the medians.
series() { echo "$1" | tr ' ' '\n' | grep -E '^[0-9]+$' | paste -sd, - || true; }
lagseries() { echo "$1" | tr ' ' '\n' | grep -E '^[0-9]+:' | sed 's/^/[/; s/$/]/; s/:/,/g' | paste -sd, - || true; }
python3 - "${CONFIGS[@]}" <<EOF
import statistics, sys
prod = {$(for c in "${CONFIGS[@]}"; do printf '"%s": [%s], ' "$c" "$(series "${RESULTS[$c]}")"; done)}
lags = {$(for c in "${CONFIGS[@]}"; do printf '"%s": [%s], ' "$c" "$(lagseries "${LAGS[$c]:-}")"; done)}
def med(v): return statistics.median(v) if v else None
base = med(prod.get("single", [])) or med(prod.get("async", []))
print(f"{'config':10} {'msgs/s':>10} {'vs single':>9} {'lag p50':>10} {'lag p99':>10} {'lag max':>10}   runs")
for c in sys.argv[1:]:
    m = med(prod[c])
    l = lags[c]
    lag = [f"{med([x[i] for x in l]):10.0f}" if l else f"{'-':>10}" for i in range(3)]
    print(f"{c:10} {(f'{m:.0f}' if m else '-'):>10} {(f'{m / base:.2f}' if m and base else '-'):>9} {' '.join(lag)}   {prod[c]}")
a = med(prod.get("async", []))
for c in ("sync", "syncflush"):
    if a and med(prod.get(c, [])):
        print(f"{c} / async: {med(prod[c]) / a:.2f}")
EOF

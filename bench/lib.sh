# Shell helpers the benchmark scripts share; `source "$(dirname "$0")/lib.sh"` (or ../lib.sh) after `set -euo pipefail`.
# BIN (the folder holding thruster-broker and thruster) must be set before launch_broker is called.

# A TCP port on 127.0.0.1 that was free a moment ago (another process may still take it: launch_broker retries).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until something accepts connections on 127.0.0.1:PORT; fails after TRIES x 50 ms (default 200: 10 s).
wait_port() {
  local tries=${2:-200}
  for _ in $(seq 1 "$tries"); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# launch_broker STORE_DIR LOG_FILE [BROKER_ARGS...]: a thruster-broker with its embedded name server on fresh
# loopback ports, tried up to three times (a port found free may be taken before the broker binds it). Sets
# BROKER_PID, BROKER_PORT, NAMESRV_PORT and HA_PORT. The HA port is given too: listenPort + 1 may be taken.
launch_broker() {
  local store=$1 log=$2 attempt
  shift 2
  mkdir -p "$store"
  for attempt in 1 2 3; do
    BROKER_PORT=$(free_port)
    NAMESRV_PORT=$(free_port)
    HA_PORT=$(free_port)
    "$BIN/thruster-broker" --storePathRootDir="$store" --listenPort="$BROKER_PORT" \
      --namesrvListenPort="$NAMESRV_PORT" --haListenPort="$HA_PORT" --bindAddress=127.0.0.1 \
      --brokerIP1=127.0.0.1 --logTarget=stderr "$@" >"$log" 2>&1 &
    BROKER_PID=$!
    wait_port "$BROKER_PORT" 400 && wait_port "$NAMESRV_PORT" 400 && return 0
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  done
  echo "broker did not start: $(grep -m1 -iE 'error|fail' "$log" || tail -n 5 "$log")" >&2
  return 1
}

# stop_broker: SIGTERM the broker launch_broker started and wait for it.
stop_broker() {
  [[ -n ${BROKER_PID:-} ]] || return 0
  kill "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=
}

# json_field JSON KEY [DEFAULT]: the top-level KEY of a JSON document (numbers as integers), or DEFAULT ("?").
json_field() {
  python3 -c 'import json,sys
v=json.loads(sys.argv[1]).get(sys.argv[2])
print(sys.argv[3] if v is None else (int(v) if isinstance(v,(int,float)) and not isinstance(v,bool) else v))' \
    "$1" "$2" "${3-?}" 2>/dev/null || echo "${3-?}"
}

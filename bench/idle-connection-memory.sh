#!/usr/bin/env bash
# The broker's memory per idle client connection: opens FIRST connections, then STEP more, each sending one
# HEART_BEAT (a producer group, or with CONSUMER=1 a consumer group subscribed to one topic, as a push consumer
# sends it) and reading the answer, then leaves them open. Prints the broker's RssAnon (heap and stacks: what a
# connection can cost in user space) and VmRSS after each step, and the growth per connection of the last step,
# so one-time costs (allocator arenas, the first connection of each network thread) stay out of the figure.
# RssAnon rather than VmRSS: the commit log's segments are file mappings that the `allocate` thread pre-faults
# in the background, which moves VmRSS by up to a segment (1 GiB by default) while the connections open. The
# kernel's socket buffers are not in either figure.
# Usage: bench/idle-connection-memory.sh [BROKER] [-- BROKER FLAGS...]   (default build/release/apps/thruster-broker)
#   env: FIRST=1000 STEP=4000 CONSUMER=0
set -euo pipefail
cd "$(dirname "$0")/.."
FIRST=${FIRST:-1000}
STEP=${STEP:-4000}
CONSUMER=${CONSUMER:-0}
broker=${1:-build/release/apps/thruster-broker}
(($#)) && shift
[[ ${1:-} == -- ]] && shift
BIN=$(dirname "$broker")
source bench/lib.sh
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
trap 'stop_broker; rm -rf "$WORK"' EXIT
launch_broker "$WORK/store" "$WORK/broker.log" "$@"
echo "# $(date -u '+%F %H:%M UTC'), $broker, $FIRST then $STEP more idle connections (consumer=$CONSUMER)"
python3 - "$BROKER_PORT" "$BROKER_PID" "$FIRST" "$STEP" "$CONSUMER" <<'PY'
import json, os, socket, struct, sys

port, pid, first, step, consumer = (int(a) for a in sys.argv[1:])

def status_kb(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1

def frame(code, opaque, body):
    header = json.dumps({"code": code, "flag": 0, "language": "JAVA", "opaque": opaque,
                         "serializeTypeCurrentRPC": "JSON", "version": 401},
                        separators=(",", ":")).encode()
    return struct.pack(">II", 4 + len(header) + len(body), len(header)) + header + body

def read_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise SystemExit("the broker closed an idle connection during its heartbeat")
        out += chunk
    return out

socks = []
def open_more(n):
    for _ in range(n):
        i = len(socks)
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client_id = f"127.0.0.1@{os.getpid()}#idle-{i}"
        if consumer:
            hb = {"clientID": client_id, "producerDataSet": [], "consumerDataSet": [{
                "groupName": "IdleConsumers", "consumeType": "CONSUME_PASSIVELY",
                "messageModel": "CLUSTERING", "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET",
                "unitMode": False, "subscriptionDataSet": [{
                    "topic": "IdleTopic", "subString": "*", "tagsSet": [], "codeSet": [],
                    "subVersion": 1, "expressionType": "TAG", "classFilterMode": False}]}]}
        else:
            hb = {"clientID": client_id, "consumerDataSet": [],
                  "producerDataSet": [{"groupName": "IdleProducers"}]}
        s.sendall(frame(34, i, json.dumps(hb).encode()))
        length = struct.unpack(">I", read_exact(s, 4))[0]
        payload = read_exact(s, length)
        header = json.loads(payload[4:4 + (struct.unpack(">I", payload[:4])[0] & 0xFFFFFF)])
        if header.get("code") != 0:
            raise SystemExit(f"heartbeat {i} answered {header}")
        socks.append(s)

print(f"{'connections':>12} {'RssAnon KiB':>12} {'VmRSS KiB':>12}")
print(f"{0:12} {status_kb('RssAnon'):12} {status_kb('VmRSS'):12}")
open_more(first)
anon1 = status_kb("RssAnon")
print(f"{len(socks):12} {anon1:12} {status_kb('VmRSS'):12}")
open_more(step)
anon2 = status_kb("RssAnon")
print(f"{len(socks):12} {anon2:12} {status_kb('VmRSS'):12}")
print(f"RssAnon per connection over the last {step}: {(anon2 - anon1) / step:.2f} KiB")
PY

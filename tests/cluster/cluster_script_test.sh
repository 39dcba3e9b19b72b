#!/usr/bin/env bash
# scripts/cluster.sh (`make cluster`): it starts a name server and two master/slave groups, a topic created on
# the cluster takes messages, `thruster admin clusterList` shows both groups with their roles, offsets and a slave
# lag that reaches 0, a master answers on its VIP port (listenPort - 2), and Ctrl-C stops everything cleanly
# (every store closed without its `abort` file, the script exits 0).
# With a fourth argument `controller`: the same in controller mode (CONTROLLER=1: etcd, elected masters; each
# slave registers with its replica id, 2).
# Usage: cluster_script_test.sh SCRIPT BIN_DIR THRUSTER [controller]
set -u
script=$1
bin_dir=$2
thruster=$3
mode=${4:-static}
slave_id=1
[[ $mode == controller ]] && slave_id=2
tmp=$(mktemp -d)
pid=
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/data/*.log; do echo "== $f"; tail -n 20 "$f"; done
  if [[ -n $pid ]]; then
    kill -TERM -- "-$pid" 2>/dev/null
    wait "$pid"
  fi
  rm -rf "$tmp"
  exit 1
}

# Ports: the name server, then 4 brokers 10 apart from BASE (each also uses BASE - 2 and BASE + 1), then etcd's
# two (BASE + 40, BASE + 41).
read -r ns base < <(python3 - <<'EOF'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    base = random.randrange(20000, 40000)
    ports = [base - 10] + [base + 10 * i + d for i in range(4) for d in (-2, 0, 1)] + [base + 40, base + 41]
    if all(free(p) for p in ports):
        print(base - 10, base); break
EOF
)
[[ -n $base ]] || fail "no free ports"

controller=
[[ $mode == controller ]] && controller=1
set -m  # the script gets its own process group, as a terminal's foreground job would
CONTROLLER=$controller ETCD_PORT=$((base + 40)) \
  DATA_DIR="$tmp/data" NAMESRV_PORT=$ns BASE_PORT=$base CLUSTER_READY_FILE="$tmp/ready" SEGMENT=1048576 \
  BROKER_FLAGS="--maxHashSlotNum=1000 --maxIndexNum=4000" \
  bash "$script" "$bin_dir" >"$tmp/out" 2>&1 &
pid=$!
set +m
for ((i = 0; i < 600; i++)); do
  [[ -s $tmp/ready ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/out"; fail "cluster.sh exited early"; }
  sleep 0.1  # waiting for the ready file, with a deadline
done
[[ -s $tmp/ready ]] || { cat "$tmp/out"; fail "cluster did not come up"; }
namesrv=$(cat "$tmp/ready")
grep -q "broker-b  $slave_id    SLAVE" "$tmp/out" || { cat "$tmp/out"; fail "address table missing"; }

# One topic per group (a topic on both would take a fresh producer's first message to broker-a only).
for g in a:0 b:2; do
  topic=Topic${g%%:*}
  addr=127.0.0.1:$((base + 10 * ${g##*:}))
  "$thruster" admin updateTopic -n "$namesrv" -b "$addr" -t "$topic" >"$tmp/update" 2>&1 ||
    { cat "$tmp/update"; fail "updateTopic $topic"; }
  for i in 1 2 3; do
    "$thruster" admin sendMessage -n "$namesrv" -t "$topic" -p "message-$i" >"$tmp/send" 2>&1 ||
      { cat "$tmp/send"; fail "sendMessage $topic"; }
    grep -q "broker-${g%%:*} .*SEND_OK" "$tmp/send" || { cat "$tmp/send"; fail "sendMessage $topic was not SEND_OK"; }
  done
done

# clusterList: both groups, roles, offsets, and every slave's lag reaching 0 (replication is asynchronous).
ok=
for ((i = 0; i < 100; i++)); do
  "$thruster" admin clusterList -n "$namesrv" --json >"$tmp/cl" 2>&1
  if python3 - "$tmp/cl" "$slave_id" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
sid = int(sys.argv[2])
brokers = json.loads(text[text.index("{"):])["brokers"]
rows = {(b["brokerName"], b["brokerId"]): b for b in brokers}
assert set(rows) == {("broker-a", 0), ("broker-a", sid), ("broker-b", 0), ("broker-b", sid)}, rows.keys()
for name in ("broker-a", "broker-b"):
    m, s = rows[(name, 0)], rows[(name, sid)]
    assert m["runtime"]["brokerRole"] == "ASYNC_MASTER" and s["runtime"]["brokerRole"] == "SLAVE"
    assert int(m["runtime"]["commitLogMaxOffset"]) > 0
    assert s["slaveLag"] == "0" and s["runtime"]["commitLogMaxOffset"] == m["runtime"]["commitLogMaxOffset"]
EOF
  then ok=1; break; fi
  sleep 0.1  # replication catching up, with a deadline
done
[[ -n $ok ]] || { cat "$tmp/cl"; fail "clusterList never showed both groups replicated"; }
"$thruster" admin clusterList -n "$namesrv" >"$tmp/table" 2>&1 || fail "clusterList table"
grep -q "#SlaveLag" "$tmp/table" || { cat "$tmp/table"; fail "no #SlaveLag column"; }

# haStatus: each master has its one slave, in sync, with no gap (the lag above is 0).
# (The master hears the slave's ack just after the slave wrote the bytes.)
ok=
for ((i = 0; i < 50; i++)); do
  "$thruster" admin haStatus -n "$namesrv" >"$tmp/ha" 2>&1 || { cat "$tmp/ha"; fail "haStatus"; }
  if [[ $(grep -c "^#SlaveNum	1$" "$tmp/ha") == 2 &&
    $(grep -cE "^127\.0\.0\.1:[0-9]+ +[0-9]+ +0 +OK$" "$tmp/ha") == 2 ]]; then ok=1; break; fi
  sleep 0.1  # the last ack on its way, with a deadline
done
[[ -n $ok ]] || { cat "$tmp/ha"; fail "haStatus: not one in-sync slave per master with no gap"; }

# The VIP port of broker-a's master answers admin requests.
"$thruster" admin brokerStatus -b "127.0.0.1:$((base - 2))" >"$tmp/vip" 2>&1 || { cat "$tmp/vip"; fail "VIP port"; }
grep -q "brokerRole.*ASYNC_MASTER" "$tmp/vip" || { cat "$tmp/vip"; fail "VIP port answer"; }

# Ctrl-C: SIGINT to the whole foreground group, as a terminal sends it.
kill -INT -- "-$pid"
wait "$pid"
rc=$?
pid=
[[ $rc == 0 ]] || { cat "$tmp/out"; fail "cluster.sh exited $rc after Ctrl-C"; }
grep -q "cluster: stopped" "$tmp/out" || { cat "$tmp/out"; fail "no stop message"; }
if [[ $mode == controller ]]; then
  # Each group elected its first broker; the in-sync set held both replicas.
  for g in a b; do
    grep -q "elected master at epoch 1" "$tmp/data/broker-$g-0.log" || fail "broker-$g-0 was not elected"
    grep -q "syncStateSet \[1,2\]" "$tmp/data/broker-$g-0.log" || fail "broker-$g: slave never in the in-sync set"
  done
fi
for b in broker-a-0 broker-a-1 broker-b-0 broker-b-1; do
  [[ -e $tmp/data/$b/abort ]] && fail "$b did not stop cleanly (abort file left)"
  grep -q "stopped" "$tmp/data/$b.log" || fail "$b has no stop line"
done
rm -rf "$tmp"
echo "PASS"

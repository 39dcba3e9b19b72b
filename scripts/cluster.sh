#!/usr/bin/env bash
# A cluster on loopback for trying replication out (`make cluster`): one name server and two broker groups,
# broker-a and broker-b, each a master and a slave with static roles (RocketMQ 4.x style). Stores and logs go
# under DATA_DIR (./data/cluster). Prints every address, then runs until Ctrl-C (or SIGTERM), when it stops the
# brokers and the name server cleanly and exits 0.
#
#   scripts/cluster.sh [BIN_DIR]          BIN_DIR holds thruster-namesrv and thruster-broker (build/release/apps)
#
# Environment: DATA_DIR, NAMESRV_PORT (9876), BASE_PORT (10911: broker-a's master; each further broker is 10
# ports up, so its VIP port, listenPort - 2, and HA port, listenPort + 1, stay free), MASTER_ROLE (ASYNC_MASTER;
# SYNC_MASTER makes sends wait for the slave), FLUSH (ASYNC_FLUSH or SYNC_FLUSH), SEGMENT (CommitLog segment bytes,
# 64 MiB: RocketMQ's 1 GiB would cost each broker 2 GiB of disk up front), BROKER_FLAGS (more flags for every
# broker), CLUSTER_READY_FILE (written once every process listens; for scripts).
#
# CONTROLLER=1: controller mode instead of static roles. An etcd (ETCD_BIN, default etcd, on ETCD_PORT 2379 and
# ETCD_PORT + 1 for its peer port, data under DATA_DIR/etcd) starts first; every broker gets enableControllerMode,
# etcdEndpoints and allAckInSyncStateSet=true, each group elects its master (the first broker started: it takes
# brokerId 0, its slave registers with its replica id), and the script waits until each group has both. Kill a
# master and its slave takes over.
#
# Then: `thruster admin clusterList -n 127.0.0.1:9876` shows each broker's role, max offset and slave lag.
set -u

BIN_DIR=${1:-build/release/apps}
DATA_DIR=${DATA_DIR:-./data/cluster}
NAMESRV_PORT=${NAMESRV_PORT:-9876}
BASE_PORT=${BASE_PORT:-10911}
MASTER_ROLE=${MASTER_ROLE:-ASYNC_MASTER}
FLUSH=${FLUSH:-ASYNC_FLUSH}
SEGMENT=${SEGMENT:-67108864}
BROKER_FLAGS=${BROKER_FLAGS:-}
CLUSTER_READY_FILE=${CLUSTER_READY_FILE:-}
CONTROLLER=${CONTROLLER:-}
ETCD_BIN=${ETCD_BIN:-etcd}
ETCD_PORT=${ETCD_PORT:-2379}

for b in thruster-namesrv thruster-broker; do
  if [[ ! -x "$BIN_DIR/$b" ]]; then
    echo "cluster: $BIN_DIR/$b not found (build it first: make build)" >&2
    exit 1
  fi
done
mkdir -p "$DATA_DIR"

pids=()
names=()

stop_all() {
  # Brokers first (slaves, then masters: they unregister from the name server), the name server last.
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null
    wait "${pids[$i]}" 2>/dev/null
  done
}

on_signal() {
  trap '' INT TERM
  echo "cluster: stopping"
  stop_all
  echo "cluster: stopped"
  exit 0
}
trap on_signal INT TERM

fail() {
  echo "cluster: $*" >&2
  trap '' INT TERM
  stop_all
  exit 1
}

# wait_for LOG PID PATTERN: until LOG has a line matching PATTERN (30 s), or the process exits.
wait_for() {
  local log=$1 pid=$2 pattern=$3 i
  for ((i = 0; i < 300; i++)); do
    grep -qE "$pattern" "$log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; return 1; }
    sleep 0.1  # polling a log file for a line, with a deadline
  done
  tail -n 20 "$log" >&2
  return 1
}

namesrv_log="$DATA_DIR/namesrv.log"
"$BIN_DIR/thruster-namesrv" --listenPort="$NAMESRV_PORT" --bindAddress=127.0.0.1 --logTarget=stderr \
  >"$namesrv_log" 2>&1 &
pids+=($!)
names+=("namesrv")
wait_for "$namesrv_log" $! "listening on" || fail "the name server did not start (log: $namesrv_log)"
NAMESRV=127.0.0.1:$NAMESRV_PORT

controller_flags=
if [[ -n $CONTROLLER ]]; then
  command -v "$ETCD_BIN" >/dev/null || fail "$ETCD_BIN not found (Debian: etcd-server)"
  etcd_log="$DATA_DIR/etcd.log"
  etcd_client=http://127.0.0.1:$ETCD_PORT
  etcd_peer=http://127.0.0.1:$((ETCD_PORT + 1))
  "$ETCD_BIN" --name=cluster --data-dir="$DATA_DIR/etcd" --listen-client-urls="$etcd_client" \
    --advertise-client-urls="$etcd_client" --listen-peer-urls="$etcd_peer" \
    --initial-advertise-peer-urls="$etcd_peer" --initial-cluster="cluster=$etcd_peer" >"$etcd_log" 2>&1 &
  pids+=($!)
  names+=("etcd")
  wait_for "$etcd_log" $! "ready to serve client requests" || fail "etcd did not start (log: $etcd_log)"
  controller_flags="--enableControllerMode=true --etcdEndpoints=127.0.0.1:$ETCD_PORT --allAckInSyncStateSet=true"
fi

rows=()
port=$BASE_PORT
for group in broker-a broker-b; do
  for id in 0 1; do
    if [[ $id == 0 ]]; then role=$MASTER_ROLE; else role=SLAVE; fi
    # Controller mode: the election decides; an elected broker takes the master role.
    [[ -n $CONTROLLER ]] && role=$MASTER_ROLE
    name="$group-$id"
    log="$DATA_DIR/$name.log"
    # shellcheck disable=SC2086  # BROKER_FLAGS and controller_flags are lists of flags
    "$BIN_DIR/thruster-broker" --brokerName="$group" --brokerId="$id" --brokerRole="$role" \
      --flushDiskType="$FLUSH" --mappedFileSizeCommitLog="$SEGMENT" --listenPort="$port" --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 \
      --namesrvAddr="$NAMESRV" --storePathRootDir="$DATA_DIR/$name" --logTarget=stderr $controller_flags $BROKER_FLAGS \
      >"$log" 2>&1 &
    pids+=($!)
    names+=("$name")
    wait_for "$log" $! "listening on" || fail "$name did not start (log: $log)"
    if [[ -n $CONTROLLER ]]; then
      # The first broker of a group is elected; the second follows it.
      if [[ $id == 0 ]]; then pattern="elected master at epoch"; else pattern="controller: slave of"; fi
      wait_for "$log" $! "$pattern" || fail "$name: no '$pattern' (log: $log)"
      # The id it registers with: 0 as the master, its replica id as a slave.
      bid=0
      if [[ $id != 0 ]]; then
        role=SLAVE
        bid=$(grep -oE "replica id [0-9]+" "$log" | head -n 1 | grep -oE "[0-9]+$")
      fi
    else
      bid=$id
    fi
    rows+=("$(printf '%-9s %-4s %-13s %-16s %-16s %-16s %s' "$group" "$bid" "$role" \
      "127.0.0.1:$port" "127.0.0.1:$((port + 1))" "127.0.0.1:$((port - 2))" "$DATA_DIR/$name")")
    port=$((port + 10))
  done
done

echo "cluster: name server 127.0.0.1:$NAMESRV_PORT (log $namesrv_log)"
printf '%-9s %-4s %-13s %-16s %-16s %-16s %s\n' "#Broker" "#BID" "#Role" "#Addr" "#HA" "#VIP" "#Store"
for r in "${rows[@]}"; do echo "$r"; done
echo "cluster: try  thruster admin clusterList -n $NAMESRV ; Ctrl-C stops everything"
[[ -n $CLUSTER_READY_FILE ]] && echo "$NAMESRV" >"$CLUSTER_READY_FILE"

# Until a signal, or until a process dies on its own.
while :; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      fail "${names[$i]} exited on its own; see its log under $DATA_DIR"
    fi
  done
  sleep 1 &  # woken by a signal: `wait` returns at once when one is trapped
  wait $!
done

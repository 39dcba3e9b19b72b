#!/usr/bin/env bash
# thruster-broker as a process: -c broker.conf with --key=value overrides, where it says it listens, a second
# broker on the same store refused with a clear message, SIGHUP applies hot keys, SIGTERM stops it cleanly (abort
# file removed).
# Usage: app_test.sh <thruster-broker binary>
set -euo pipefail
bin="$1"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }

cat > "$tmp/broker.conf" <<CONF
# a RocketMQ-style broker.conf
brokerName=broker-app
brokerClusterName=AppCluster
listenPort=10911
namesrvListenPort=0
storePathRootDir=$tmp/ignored
bindAddress=127.0.0.1
mappedFileSizeCommitLog=4194304
maxHashSlotNum=1000
maxIndexNum=4000
CONF

"$bin" -c "$tmp/broker.conf" --listenPort=0 --storePathRootDir="$tmp/store" --logTarget=stderr >"$tmp/first.log" 2>&1 &
first=$!
pids+=("$first")
for _ in $(seq 1 200); do
  grep -q "^thruster-broker: .* listening on" "$tmp/first.log" && break
  kill -0 "$first" 2>/dev/null || fail "broker exited early"
  sleep 0.05
done
grep -q "thruster-broker: broker-app listening on 127.0.0.1:" "$tmp/first.log" || fail "no listening line"
grep -q "embedded name server on port" "$tmp/first.log" || fail "no name server line"
[ -f "$tmp/store/abort" ] || fail "running broker has no abort file"
[ ! -e "$tmp/ignored" ] || fail "--storePathRootDir did not override the file"

set +e
"$bin" -c "$tmp/broker.conf" --listenPort=0 --storePathRootDir="$tmp/store" --logTarget=stderr >"$tmp/second.log" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "second broker on the same store exited 0"
grep -q "in use by another process" "$tmp/second.log" || fail "second broker gave no clear message"

# SIGHUP: a broker hot key (as UPDATE_BROKER_CONFIG may change it) takes effect; a cold one is named as needing
# a restart.
printf 'flushConsumerOffsetInterval=7000\nfileReservedTime=24\n' >> "$tmp/broker.conf"
kill -HUP "$first"
for _ in $(seq 1 200); do
  grep -q "SIGHUP: fileReservedTime changed" "$tmp/first.log" && break
  sleep 0.05
done
grep -q "SIGHUP: flushConsumerOffsetInterval is now 7000" "$tmp/first.log" || fail "SIGHUP did not apply a hot key"
grep -q "SIGHUP: fileReservedTime changed .* only after a restart" "$tmp/first.log" ||
  fail "SIGHUP did not name the cold key"

"$bin" --listenPort=notanumber --logTarget=stderr >"$tmp/bad.log" 2>&1 && fail "bad flag accepted"
grep -q "listenPort" "$tmp/bad.log" || fail "bad flag message does not name the key"

kill -TERM "$first"
for _ in $(seq 1 200); do kill -0 "$first" 2>/dev/null || break; sleep 0.05; done
kill -0 "$first" 2>/dev/null && fail "broker still running 10 s after SIGTERM"
wait "$first" || fail "broker exited non-zero after SIGTERM"
[ ! -e "$tmp/store/abort" ] || fail "clean stop left the abort file"
[ -f "$tmp/store/checkpoint" ] || fail "clean stop wrote no checkpoint"
[ -f "$tmp/store/config/topics.json" ] || fail "no topics.json"
echo "PASS"

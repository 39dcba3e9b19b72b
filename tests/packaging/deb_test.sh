#!/usr/bin/env bash
# The Debian package end to end: builds the .deb with CPack from this build directory, lists it, extracts it into
# a scratch root, verifies the systemd units, then runs the packaged broker from there with the packaged
# broker.conf (store dir, ports and file sizes overridden for a scratch run) and checks: it serves `thruster
# admin` (the packaged tool), logs in RocketMQ's file layout, SIGHUP applies a logLevel change, a second broker on
# the same store is refused, and SIGTERM stops it cleanly (checkpoint written, abort removed).
# Usage: deb_test.sh <build dir>
set -euo pipefail
build="$(cd "$1" && pwd)"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/*.out "$tmp"/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
  exit 1
}
# Waits up to 20 s for `grep -q PATTERN FILE`.
wait_for() {
  for _ in $(seq 1 400); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && fail "process $3 exited while waiting for '$2' in $1"
    sleep 0.05
  done
  fail "no '$2' in $1 after 20 s"
}

# --- build and inspect the package
# Stripped and zstd-compressed: this build's (sanitizer, debug) binaries are large, and compressing their debug
# information would take most of the test's time.
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/pkg" -D CPACK_DEBIAN_COMPRESSION_TYPE=zstd \
  -D CPACK_STRIP_FILES=ON \
  >"$tmp/cpack.out" 2>&1 || fail "cpack failed"
deb="$(ls "$tmp"/pkg/thruster_*.deb)"
echo "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb -c "$deb" >"$tmp/contents.out"
for path in ./usr/bin/thruster-broker ./usr/bin/thruster-namesrv ./usr/bin/thruster \
            ./etc/thruster/broker.conf ./etc/thruster/namesrv.conf \
            ./usr/lib/systemd/system/thruster-broker.service ./usr/lib/systemd/system/thruster-namesrv.service; do
  grep -q " $path\$" "$tmp/contents.out" || fail "package lacks $path"
done
dpkg-deb -f "$deb" Package Version Architecture Depends >"$tmp/control.out"
grep -q "^Package: thruster$" "$tmp/control.out" || fail "package is not named thruster"
# Dependencies come from the linked shared libraries (dpkg-shlibdeps), not a hand-written list.
for lib in libc6 libstdc++6 libspdlog1.10 libfmt9 libdeflate0; do
  grep -q "^Depends:.*\b$lib\b" "$tmp/control.out" || fail "Depends lacks $lib"
done
grep -q "^Depends:.*\badduser\b" "$tmp/control.out" || fail "Depends lacks adduser (postinst)"
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/thruster/broker.conf "$tmp/control/conffiles" || fail "broker.conf is not a conffile"
sh -n "$tmp/control/postinst" || fail "postinst does not parse"
grep -q "adduser --system" "$tmp/control/postinst" || fail "postinst creates no system user"

root="$tmp/root"
dpkg -x "$deb" "$root"
units="$root/usr/lib/systemd/system"
grep -q "^ExecStart=/usr/bin/thruster-broker -c /etc/thruster/broker.conf --logTarget=stdout$" \
  "$units/thruster-broker.service" || fail "broker unit does not run the packaged binary and config"
for key in "User=thruster" "LimitNOFILE=" "LimitMEMLOCK=infinity" "Restart=on-failure" "KillSignal=SIGTERM" \
           "TimeoutStopSec=180" "StateDirectory=thruster"; do
  grep -q "^$key" "$units/thruster-broker.service" || fail "broker unit lacks $key"
done
grep -q "^storePathRootDir=/var/lib/thruster/store$" "$root/etc/thruster/broker.conf" \
  || fail "packaged broker.conf does not put the store under /var/lib/thruster"

# --- systemd-analyze verify, on copies whose ExecStart points into the scratch root (verify checks that the
# program exists; the units themselves name /usr/bin).
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -p "$tmp/units"
  for u in thruster-broker thruster-namesrv; do
    sed "s#^ExecStart=/usr/bin/#ExecStart=$root/usr/bin/#" "$units/$u.service" >"$tmp/units/$u.service"
  done
  if systemd-analyze verify --man=no --recursive-errors=no "$tmp/units/thruster-broker.service" "$tmp/units/thruster-namesrv.service" \
      >"$tmp/verify.out" 2>&1; then
    echo "systemd-analyze verify: clean"
  elif grep -qiE "failed to (initialize|set up|connect)|not been booted|System has not" "$tmp/verify.out"; then
    echo "SKIP (sub-check only): systemd-analyze verify cannot run in this container:"; cat "$tmp/verify.out"
  else
    cat "$tmp/verify.out"; fail "systemd-analyze verify found problems in the units"
  fi
else
  echo "SKIP (sub-check only): systemd-analyze is not installed (Debian package systemd)"
fi

# --- run the packaged broker from the scratch root
bin="$root/usr/bin"
mkdir -p "$tmp/home"
# exec: the broker replaces the shell running the function, so $! (and a subshell's pid) is the broker's own.
run_broker() {
  HOME="$tmp/home" exec "$bin/thruster-broker" -c "$root/etc/thruster/broker.conf" \
    --storePathRootDir="$tmp/store" --listenPort=0 --namesrvListenPort=0 --bindAddress=127.0.0.1 \
    --mappedFileSizeCommitLog=4194304 --maxHashSlotNum=1000 --maxIndexNum=4000 "$@"
}
run_broker --logDir="$tmp/logs" >"$tmp/broker.out" 2>&1 &
broker=$!
pids+=("$broker")
wait_for "$tmp/broker.out" "^thruster-broker: .* listening on" "$broker"
port="$(sed -n 's/^thruster-broker: .* listening on 127.0.0.1:\([0-9]*\) .*/\1/p' "$tmp/broker.out")"
ns_port="$(sed -n 's/.*embedded name server on port \([0-9]*\).*/\1/p' "$tmp/broker.out")"
[ -n "$port" ] && [ -n "$ns_port" ] || fail "no ports in the listening line"
grep -q "^thruster-broker: logging to $tmp/logs$" "$tmp/broker.out" || fail "no 'logging to' line"
[ -f "$tmp/store/lock" ] || fail "running broker has no lock file"
[ -f "$tmp/store/abort" ] || fail "running broker has no abort file"

# It serves: the packaged admin tool creates a topic on it and reads it back through the name server.
admin() { "$bin/thruster" admin "$@" -n "127.0.0.1:$ns_port"; }
admin updateTopic -t PackagedTopic -b "127.0.0.1:$port" >"$tmp/admin.out" 2>&1 || fail "updateTopic failed"
admin topicStatus -t PackagedTopic >"$tmp/status.out" 2>&1 || fail "topicStatus failed"
grep -q "broker-a" "$tmp/status.out" || fail "topicStatus does not show broker-a"

# Logs: RocketMQ's file names under logDir, nothing in the home directory.
for f in broker.log store.log remoting.log namesrv.log; do [ -s "$tmp/logs/$f" ] || fail "no $f"; done
[ -f "$tmp/logs/broker_default.log" ] || fail "no broker_default.log"
grep -q "INFO" "$tmp/logs/store.log" || fail "store.log has no INFO line"
[ -z "$(ls -A "$tmp/home")" ] || fail "the broker wrote into HOME with logDir set: $(ls -A "$tmp/home")"
grep -q "accepted" "$tmp/logs/remoting.log" 2>/dev/null && fail "DEBUG line logged at INFO"

# SIGHUP: logLevel=DEBUG in the config file takes effect without a restart.
echo "logLevel=DEBUG" >>"$root/etc/thruster/broker.conf"
echo "fileReservedTime=1" >>"$root/etc/thruster/broker.conf"
kill -HUP "$broker"
wait_for "$tmp/logs/broker.log" "SIGHUP: logLevel is now DEBUG" "$broker"
grep -q "SIGHUP: fileReservedTime changed .* only after a restart" "$tmp/logs/broker.log" \
  || fail "SIGHUP did not name the key needing a restart"
admin topicStatus -t PackagedTopic >"$tmp/status.out" 2>&1 || fail "topicStatus after SIGHUP failed"
wait_for "$tmp/logs/remoting.log" "DEBUG .* accepted" "$broker"

# A second broker on the same store is refused, with a clear message; its logs default to ~/logs/rocketmqlogs.
set +e
(run_broker >"$tmp/second.out" 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "second broker on the same store exited 0"
grep -q "in use by another process" "$tmp/second.out" || fail "second broker gave no clear message"
[ -f "$tmp/home/logs/rocketmqlogs/broker_default.log" ] || fail "default logDir is not ~/logs/rocketmqlogs"
kill -0 "$broker" || fail "first broker died"

# SIGTERM: a clean stop writes the checkpoint and removes abort.
touch "$tmp/before-stop"
sleep 0.01  # a distinct mtime for the checkpoint's comparison below, not synchronisation
kill -TERM "$broker"
for _ in $(seq 1 400); do kill -0 "$broker" 2>/dev/null || break; sleep 0.05; done
kill -0 "$broker" 2>/dev/null && fail "broker still running 20 s after SIGTERM"
wait "$broker" || fail "broker exited non-zero after SIGTERM"
[ ! -e "$tmp/store/abort" ] || fail "clean stop left the abort file"
[ "$tmp/store/checkpoint" -nt "$tmp/before-stop" ] || fail "clean stop did not write the checkpoint"
grep -q "shutting down" "$tmp/logs/broker.log" || fail "no shutdown line in broker.log"

# The packaged name server with its packaged namesrv.conf: serves the admin tool, stops on SIGTERM.
(HOME="$tmp/home" exec "$bin/thruster-namesrv" -c "$root/etc/thruster/namesrv.conf" -p 0 --bindAddress=127.0.0.1 \
  --logDir="$tmp/nslogs" >"$tmp/namesrv.out" 2>&1) &
namesrv=$!
pids+=("$namesrv")
wait_for "$tmp/namesrv.out" "^thruster-namesrv: listening on" "$namesrv"
ns_port="$(sed -n 's/^thruster-namesrv: listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/namesrv.out")"
"$bin/thruster" admin clusterList -n "127.0.0.1:$ns_port" >"$tmp/cluster.out" 2>&1 || fail "clusterList failed"
grep -q "#Cluster Name" "$tmp/cluster.out" || fail "clusterList printed no table"
[ -s "$tmp/nslogs/namesrv.log" ] || fail "no namesrv.log"
kill -TERM "$namesrv"
wait "$namesrv" || fail "name server exited non-zero after SIGTERM"
echo "PASS"

#!/usr/bin/env bash
# Runs the same produce workload against Thruster, Redis Streams and NATS JetStream on this machine and prints one
# table. Every server listens on 127.0.0.1 only, on a free port, with its data in a fresh temp dir, and is stopped
# by PID when its rows are done (and on any exit). Every run is bounded by a message count and --timeout.
# See bench/peers/README.md for what is measured and how to read the table. `make bench-peers` calls this.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/peers/run.sh [options]
  --runs N          measured runs per row; the table shows the median (default 3)
  --systems LIST    any of thruster,thruster-keep,redis,nats (default all four); thruster-keep is Thruster's
                    ASYNC_FLUSH broker again, with --commitLogCacheKeepMb=$KEEP_MB, at 4x100 only
  --shapes LIST     PRODUCERSxINFLIGHT list (default 4x100,1x1,64x1)
  --warmup N        messages sent (4x100) to each fresh server before measuring (default 1100000, > one 1 GiB
                    commit-log segment)
  --scale F         multiply every run's message count by F (default 1)
  --size B          payload bytes (default 1024)
  --timeout S       give up on a single run after S seconds (default 300)
  --quick           --runs 1 --warmup 50000 --scale 0.25: a smoke test, not a measurement
  --tsv FILE        also write the rows as tab-separated values, with every run's msgs/s
  --keep            keep the temp dir (server logs and data) and print its path
Environment: THRUSTER_BIN_DIR (default build/release/apps), PEERS_TMPDIR (where data dirs go, default /tmp),
THRUSTER_BROKER_ARGS (extra broker flags).
EOF
  exit 2
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=3
SYSTEMS=thruster,thruster-keep,redis,nats
KEEP_MB=1024
SHAPES=4x100,1x1,64x1
WARMUP=1100000
SCALE=1
SIZE=1024
TIMEOUT=300
TSV=""
KEEP=0
while (($#)); do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --systems) SYSTEMS=$2; shift 2 ;;
    --shapes) SHAPES=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --tsv) TSV=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --quick) RUNS=1; WARMUP=50000; SCALE=0.25; shift ;;
    -h | --help) usage ;;
    *) echo "run.sh: unknown option $1" >&2; usage ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs must be a positive integer" >&2; exit 2; }

BIN_DIR=${THRUSTER_BIN_DIR:-$ROOT/build/release/apps}
GEN_DIR=$ROOT/build/peers

bash "$HERE/install.sh"
make -s -C "$HERE" OUT="$GEN_DIR"

WORK=$(mktemp -d -p "${PEERS_TMPDIR:-/tmp}" thruster-peers.XXXXXX)
SERVER_PID=""
cleanup() {
  if [[ -n $SERVER_PID ]]; then stop_server; fi
  if ((KEEP)); then log "run.sh: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }

# A TCP port on 127.0.0.1 that nothing uses right now: below the kernel's ephemeral range, so no client connection can hold it, and not used by any socket in any state.
free_port() {
  local p lo
  lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((lo > 21000)) || lo=60000
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % (lo - 20000)))
    if [[ -z $(ss -Htan "sport = :$p") ]]; then echo "$p"; return 0; fi
  done
  log "run.sh: no free port found"
  return 1
}

# Waits until something accepts on 127.0.0.1:$1, failing early when SERVER_PID exits.
wait_port() {
  for _ in $(seq 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

stop_server() {
  local pid=$SERVER_PID
  SERVER_PID=""
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Messages per measured run for a shape. Rows where every ack waits for an fsync (SYNC_FLUSH, appendfsync always)
# run fewer at one message in flight: one fdatasync costs milliseconds on this disk.
messages_for() {
  local shape=$1 durable=$2 n
  case "$shape" in
    1x1) n=$([[ $durable == yes ]] && echo 2000 || echo 20000) ;;
    4x100) n=200000 ;;
    *) n=$([[ $durable == yes ]] && echo 20000 || echo 100000) ;;
  esac
  awk -v n="$n" -v s="$SCALE" -v p="${shape%x*}" 'BEGIN { m = int(n * s); if (m < p) m = p; print m }'
}

# Turns one JSON result (ours or `thruster bench produce --json`) into "msgs/s MB/s p50 p99 errors". Accepts our
# keys (msgs_per_sec, mb_per_sec, p50_us, p99_us) and, failing those, any key at any depth that looks like them.
normalize() {
  jq -r '
    def find(re): [paths(scalars) as $p | select($p[-1] | tostring | test(re; "i")) | getpath($p)
                   | numbers][0];
    [ (.msgs_per_sec // find("^(msgs|messages)_?per_?s(ec)?$|^tps$|msgs/s")),
      (.mb_per_sec // find("^mb_?per_?s(ec)?$|^mbps$|mb/s")),
      (.p50_us // find("^p50(_?us)?$")),
      (.p99_us // find("^p99(_?us)?$")),
      (.errors // find("^errors?$") // 0) ]
    | if any(.[]; . == null) then "unparsed"
      else [(.[0] | round), (.[1] * 100 | round) / 100, (.[2] * 10 | round) / 10, (.[3] * 10 | round) / 10,
            .[4]] | map(tostring) | join(" ") end' 2>/dev/null ||
    echo unparsed
}

# Median of the numbers on stdin (the lower middle one for an even count).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

ROWS=()  # "system|durability|shape|msgs/s|MB/s|p50|p99|note|each run's msgs/s"

# Measures one (system, durability, shape) row: RUNS runs of `$run_fn P W N`, which prints one JSON line.
measure() {
  local system=$1 durability=$2 durable=$3 shape=$4 run_fn=$5
  local p=${shape%x*} w=${shape#*x} n out vals note="" i
  n=$(messages_for "$shape" "$durable")
  local -a m=() mb=() p50=() p99=()
  for ((i = 1; i <= RUNS; i++)); do
    log "  $system $durability $shape: run $i/$RUNS, $n messages"
    if ! out=$("$run_fn" "$p" "$w" "$n" 2>"$WORK/stderr"); then
      note="failed: $(tail -n 1 "$WORK/stderr")"
      break
    fi
    vals=$(grep '^{' <<<"$out" | tail -n 1 | normalize)
    if [[ $vals == unparsed ]]; then
      note="could not read msgs/s, MB/s, p50 and p99 from: $(tail -n 1 <<<"$out" | cut -c1-120)"
      break
    fi
    read -r a b c d e <<<"$vals"
    m+=("$a"); mb+=("$b"); p50+=("$c"); p99+=("$d")
    if [[ $e != 0 ]]; then note="$e errors in run $i"; fi
  done
  if ((${#m[@]} == RUNS)); then
    ROWS+=("$system|$durability|$shape|$(printf '%s\n' "${m[@]}" | median)|$(printf '%s\n' "${mb[@]}" | median)|$(
      printf '%s\n' "${p50[@]}" | median)|$(printf '%s\n' "${p99[@]}" | median)|$note|${m[*]}")
  else
    ROWS+=("$system|$durability|$shape|-|-|-|-|$note|${m[*]}")
  fi
}

# Runs every shape against one freshly started server: start, warm up, measure, stop.
bench_server() {
  local system=$1 durability=$2 durable=$3 start_fn=$4 run_fn=$5 shape why
  log "== $system ($durability)"
  # Not in $(...): the server must be a child of this shell, and SERVER_PID and the ports must stay set.
  if ! "$start_fn" "$durability" >"$WORK/why"; then
    why=$(cat "$WORK/why")
    for shape in ${SHAPES//,/ }; do ROWS+=("$system|$durability|$shape|-|-|-|-|$why"); done
    [[ -n $SERVER_PID ]] && stop_server
    return 0
  fi
  if ((WARMUP > 0)); then
    log "  warm-up: $WARMUP messages, 4x100"
    if ! "$run_fn" 4 100 "$WARMUP" >/dev/null 2>"$WORK/stderr"; then
      why="warm-up failed: $(tail -n 1 "$WORK/stderr")"
      for shape in ${SHAPES//,/ }; do ROWS+=("$system|$durability|$shape|-|-|-|-|$why"); done
      stop_server
      return 0
    fi
  fi
  for shape in ${SHAPES//,/ }; do measure "$system" "$durability" "$durable" "$shape" "$run_fn"; done
  stop_server
}

# --- Redis Streams ---------------------------------------------------------------------------------------------
# appendonly yes with the given appendfsync; RDB snapshots off so AOF is the only persistence (and no fork for
# BGSAVE lands in a run); everything else, including automatic AOF rewrite, is Debian's default.
redis_start() {
  local fsync=${1#AOF } dir="$WORK/redis-${1#AOF }"
  mkdir -p "$dir"
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" --appendonly yes --appendfsync "$fsync" \
    --save "" --daemonize no --logfile "$dir/redis.log" &
  SERVER_PID=$!
  wait_port "$REDIS_PORT" || { echo "redis-server did not start: $(tail -n 1 "$dir/redis.log")"; return 1; }
}

redis_run() {
  "$GEN_DIR/redis_produce" --port "$REDIS_PORT" --producers "$1" --inflight "$2" --messages "$3" --size "$SIZE" \
    --timeout "$TIMEOUT" --target bench --label redis --json
}

# --- NATS JetStream ----------------------------------------------------------------------------------------------
# File storage, one replica, default server settings (nats-server 2.9 has no sync_interval option).
nats_start() {
  local dir="$WORK/nats"
  mkdir -p "$dir"
  NATS_PORT=$(free_port)
  printf 'listen: "127.0.0.1:%s"\njetstream {\n  store_dir: "%s"\n}\n' "$NATS_PORT" "$dir/js" >"$dir/nats.conf"
  nats-server -c "$dir/nats.conf" -l "$dir/nats.log" &
  SERVER_PID=$!
  wait_port "$NATS_PORT" || { echo "nats-server did not start: $(tail -n 1 "$dir/nats.log")"; return 1; }
}

# libnats normally hands writes to a flusher thread, which batches well but adds about a millisecond when only one
# message is in flight; there --send-asap (write in the publishing thread) is its better setting, so use it.
nats_run() {
  local asap=()
  [[ $2 == 1 ]] && asap=(--send-asap)
  "$GEN_DIR/nats_produce" --port "$NATS_PORT" --producers "$1" --inflight "$2" --messages "$3" --size "$SIZE" \
    --timeout "$TIMEOUT" --target BENCH --label nats --json "${asap[@]}"
}

# --- Thruster ----------------------------------------------------------------------------------------------------
THRUSTER=$BIN_DIR/thruster
BROKER=$BIN_DIR/thruster-broker

# Prints why Thruster cannot be measured yet, or nothing.
thruster_missing() {
  if [[ ! -x $THRUSTER ]]; then
    echo "not built: $THRUSTER is missing (make build)"
  elif ! timeout 10 "$THRUSTER" bench produce --help 2>&1 | grep -q -- --inflight; then
    # CLI11 prints the parent's help for an unknown sub-command, so look for an option of ours.
    echo "'thruster bench produce' is not available yet in $THRUSTER"
  elif [[ ! -x $BROKER ]]; then
    echo "not built: $BROKER is missing (make build)"
  fi
}

thruster_start() {
  local why dir="$WORK/thruster-$1${THRUSTER_DIR_SUFFIX:-}"
  why=$(thruster_missing)
  [[ -z $why ]] || { echo "$why"; return 1; }
  mkdir -p "$dir/store"
  BROKER_PORT=$(free_port)
  NAMESRV_PORT=$(free_port)
  while [[ $NAMESRV_PORT == "$BROKER_PORT" ]]; do NAMESRV_PORT=$(free_port); done
  # shellcheck disable=SC2086  # THRUSTER_BROKER_ARGS is a list of flags
  "$BROKER" --storePathRootDir="$dir/store" --listenPort="$BROKER_PORT" --namesrvListenPort="$NAMESRV_PORT" \
    --bindAddress=127.0.0.1 --brokerIP1=127.0.0.1 --flushDiskType="$1" --logTarget=stderr ${THRUSTER_BROKER_ARGS:-} \
    >"$dir/broker.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_port "$BROKER_PORT" || ! wait_port "$NAMESRV_PORT"; then
    echo "thruster-broker did not start: $(tail -n 1 "$dir/broker.log")"
    return 1
  fi
}

# The warm-up and the runs are this script's (the same for every system), so switch off the command's own.
thruster_run() {
  local own=()
  if [[ -z ${THRUSTER_OWN_OPTS+x} ]]; then
    THRUSTER_OWN_OPTS=$("$THRUSTER" bench produce --help 2>&1 || true)
  fi
  [[ $THRUSTER_OWN_OPTS == *--warmup-bytes* ]] && own+=(--warmup-bytes 0)
  [[ $THRUSTER_OWN_OPTS == *--runs* ]] && own+=(--runs 1)
  timeout "$TIMEOUT" "$THRUSTER" bench produce --namesrv "127.0.0.1:$NAMESRV_PORT" --topic BenchTopic \
    --size "$SIZE" --producers "$1" --inflight "$2" --messages "$3" "${own[@]}" --json </dev/null
}

# --- Run and print -----------------------------------------------------------------------------------------------
START=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for system in ${SYSTEMS//,/ }; do
  case "$system" in
    thruster)
      bench_server thruster ASYNC_FLUSH no thruster_start thruster_run
      bench_server thruster SYNC_FLUSH yes thruster_start thruster_run
      ;;
    thruster-keep)
      # The same broker with a bounded CommitLog page cache (see the README's "Cold guest memory"): the variant a
      # VM whose host takes back free memory favours. Only where it matters, the 4x100 async row.
      if [[ ,$SHAPES, == *,4x100,* ]]; then
        ALL_SHAPES=$SHAPES SHAPES=4x100
        THRUSTER_BROKER_ARGS="${THRUSTER_BROKER_ARGS:-} --commitLogCacheKeepMb=$KEEP_MB" THRUSTER_DIR_SUFFIX=-keep \
          bench_server thruster-keep ASYNC_FLUSH no thruster_start thruster_run
        SHAPES=$ALL_SHAPES
      fi
      ;;
    redis)
      bench_server redis "AOF everysec" no redis_start redis_run
      bench_server redis "AOF always" yes redis_start redis_run
      ;;
    nats) bench_server nats "file (JetStream)" no nats_start nats_run ;;
    *) echo "run.sh: unknown system $system" >&2; exit 2 ;;
  esac
done

# Thruster's figure that a peer row is compared with: SYNC_FLUSH against appendfsync always (every ack durable),
# ASYNC_FLUSH against the rest.
thruster_row() {
  local want=$1 shape=$2 r
  for r in "${ROWS[@]}"; do
    IFS='|' read -r s d sh rest <<<"$r"
    if [[ $s == thruster && $d == "$want" && $sh == "$shape" ]]; then echo "$rest"; return; fi
  done
}

printf '\nProduce, %d B messages, median of %d run(s); %s, %s cores, load average %s at start, %s at end\n\n' \
  "$SIZE" "$RUNS" "$START" "$(nproc)" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
row() { printf '%-13s  %-16s  %-6s  %10s  %8s  %9s  %9s  %-18s  %s\n' "$@"; }
row system durability shape msgs/s MB/s "p50 us" "p99 us" "thruster x" note
row ------------- ---------------- ------ ---------- -------- --------- --------- ------------------ ----
[[ -n $TSV ]] && printf 'system\tdurability\tshape\tmsgs_per_sec\tmb_per_sec\tp50_us\tp99_us\tratio\tnote\truns_msgs_per_sec\n' >"$TSV"
for shape in ${SHAPES//,/ }; do
  [[ $shape == "${SHAPES%%,*}" ]] || echo
  for r in "${ROWS[@]}"; do
    IFS='|' read -r s d sh m mb p50 p99 note each <<<"$r"
    [[ $sh == "$shape" ]] || continue
    ratio=""
    if [[ $s != thruster* && $m != - ]]; then
      ref=$([[ $d == "AOF always" ]] && echo SYNC_FLUSH || echo ASYNC_FLUSH)
      IFS='|' read -r tm _ _ tp99 _ <<<"$(thruster_row "$ref" "$shape")"
      if [[ -n ${tm:-} && $tm != - ]]; then
        ratio=$(awk -v a="$tm" -v b="$m" -v c="$tp99" -v d="$p99" \
          'BEGIN { printf "%.3gx, p99 %.3gx", a / b, c / d }')
      else
        ratio="n/a"
      fi
    fi
    row "$s" "$d" "$sh" "$m" "$mb" "$p50" "$p99" "$ratio" "$note"
    if [[ -n $TSV ]]; then
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$d" "$sh" "$m" "$mb" "$p50" "$p99" "$ratio" "$note" \
        "$each" >>"$TSV"
    fi
  done
done
# The variant's own ratio: to the better of the async peers at 4x100.
for r in "${ROWS[@]}"; do
  IFS='|' read -r s d sh m _ _ p99 _ _ <<<"$r"
  [[ $s == thruster-keep && $sh == 4x100 && $m != - ]] || continue
  best="" best_p99="" best_name=""
  for q in "${ROWS[@]}"; do
    IFS='|' read -r s2 d2 sh2 m2 _ _ p992 _ _ <<<"$q"
    [[ $sh2 == 4x100 && $m2 != - && ( $s2 == nats || $d2 == "AOF everysec" ) ]] || continue
    if [[ -z $best ]] || ((m2 > best)); then best=$m2 best_p99=$p992 best_name="$s2 $d2"; fi
  done
  [[ -n $best ]] && awk -v a="$m" -v b="$best" -v c="$p99" -v d="$best_p99" -v n="$best_name" -v k="$KEEP_MB" \
    'BEGIN { printf "\nthruster-keep (ASYNC_FLUSH, commitLogCacheKeepMb=%s) at 4x100: %.3gx the better async peer (%s), p99 %.3gx\n", k, a / b, n, c / d }'
done
printf '\n"thruster x" = Thruster msgs/s / peer msgs/s, and Thruster p99 / peer p99, for the same shape: SYNC_FLUSH\n'
printf 'against AOF always, ASYNC_FLUSH against AOF everysec and NATS. Latency is send -> ack per message.\n'

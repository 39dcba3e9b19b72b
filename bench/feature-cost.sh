#!/usr/bin/env bash
# What a feature costs the produce and the consume path: `thruster bench produce` (4 producers x 100 in flight,
# 1 KiB) against a fresh thruster-broker per run, then `thruster bench consume` pulling everything that run stored
# (one pull consumer, 4 pulls of 32 in flight per queue, the median of 3 passes over it, with the same keys / TLS
# as the producer), for each configuration below, in rounds that alternate the configurations so that the
# machine's drift falls on all of them alike. Prints msgs/s per run and, per configuration, the medians and their
# ratios to `base` (the defaults).
#   base     the defaults
#   metrics  metricsExporterType=PROM (the Prometheus counters on the send path)
#   delay10  10% of the sends carry delay level 1 (parked in SCHEDULE_TOPIC_XXXX, re-put 1 s later)
#   timer10  10% of the sends carry TIMER_DELAY_SEC=60 (parked in rmq_sys_wheel_timer)
#   acl      aclEnable=true: every request signed (HMAC-SHA1) and checked
#   tls      tls.server.mode=enforcing: the client connects with TLS (copying path unless kTLS is offered)
# Usage: bench/feature-cost.sh [ROUNDS] [MESSAGES] [CONFIGS...]   (needs `make build`)
#   CONSUME=0 bench/feature-cost.sh ...   measures produce only
#   BIN=DIR bench/feature-cost.sh ...     runs the thruster-broker and thruster in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
MESSAGES=${2:-400000}
shift 2 || true
CONFIGS=("$@")
((${#CONFIGS[@]})) || CONFIGS=(base metrics delay10 timer10 acl tls)
CONSUME=${CONSUME:-1}
BIN=${BIN:-build/release/apps}  # another build's apps/ to compare two builds
WORK=$(mktemp -d)
source bench/lib.sh
trap 'stop_broker; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

# TLS material and the ACL file, made once per run of this script.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" >/dev/null 2>&1
cat >"$WORK/plain_acl.yml" <<'EOF'
accounts:
  - accessKey: BenchAdmin01
    secretKey: bench-secret-1
    admin: true
EOF

broker_args() {
  case $1 in
    metrics) echo "--metricsExporterType=PROM --metricsPromExporterPort=0" ;;
    acl) echo "--aclEnable=true --aclFile=$WORK/plain_acl.yml" ;;
    tls) echo "--tls.server.mode=enforcing --tls.server.certPath=$WORK/cert.pem --tls.server.keyPath=$WORK/key.pem" ;;
  esac
}
client_args() {
  case $1 in
    delay10) echo "--delay-ratio 0.1 --delay-level 1" ;;
    timer10) echo "--timer-ratio 0.1 --timer-delay-sec 60" ;;
    acl) echo "--accessKey BenchAdmin01 --secretKey bench-secret-1" ;;
    tls) echo "--tls --tlsTrustCertPath $WORK/cert.pem" ;;
  esac
}

declare -A RESULTS CONSUMED
echo "# $(date -u '+%F %H:%M UTC'), $(nproc) cores, 4x100 x 1 KiB, $MESSAGES msgs per run, $ROUNDS rounds"
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${CONFIGS[@]}"; do
    dir="$WORK/$c-$r"
    # shellcheck disable=SC2046  # the args are lists of flags
    launch_broker "$dir/store" "$dir/broker.log" $(broker_args "$c") || { echo "$c: see above"; exit 1; }
    np=$NAMESRV_PORT
    # shellcheck disable=SC2046
    out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$np" --messages "$MESSAGES" --runs 1 \
      --warmup-bytes $((MESSAGES * 256)) --json $(client_args "$c") </dev/null) || true  # exits 1 on send errors
    rate=$(json_field "$out" msgs_per_sec)
    [[ $rate == "?" ]] && echo "$c: could not read the rate from: $out"
    errs=$(json_field "$out" first_error "")
    [[ -n $errs ]] && echo "$c: send errors (the rate counts only acknowledged sends): $errs"
    RESULTS[$c]+="$rate "
    line="round $r $c: produce $rate msgs/s"
    if ((CONSUME)); then
      # The whole backlog (the produce warm-up's messages too), a quarter of it read first as warm-up.
      # shellcheck disable=SC2046
      cout=$("$BIN/thruster" bench consume --namesrv "127.0.0.1:$np" --runs 3 \
        --warmup-messages $((MESSAGES / 4)) --json $(client_args "$c") </dev/null) || true
      crate=$(json_field "$cout" msgs_per_sec)
      [[ $crate == "?" ]] && echo "$c: could not read the consume rate from: $cout"
      cerrs=$(json_field "$cout" first_error "")
      [[ -n $cerrs ]] && echo "$c: pull errors: $cerrs"
      CONSUMED[$c]+="$crate "
      line+=", consume $crate msgs/s"
    fi
    echo "$line"
    stop_broker
    rm -rf "$dir/store"
  done
done

# "?" (a rate that could not be read) is left out of the medians.
series() { echo "$1" | tr ' ' '\n' | grep -E '^[0-9]+$' | paste -sd, - || true; }
python3 - "${CONFIGS[@]}" <<EOF
import statistics, sys
prod = {$(for c in "${CONFIGS[@]}"; do printf '"%s": [%s], ' "$c" "$(series "${RESULTS[$c]}")"; done)}
cons = {$(for c in "${CONFIGS[@]}"; do printf '"%s": [%s], ' "$c" "$(series "${CONSUMED[$c]:-}")"; done)}
def med(v): return statistics.median(v) if v else None
def cols(res, c):
    m, b = med(res.get(c, [])), med(res.get("base", []))
    return (f"{m:14.0f}" if m else f"{'-':>14}"), (f"{m / b:.2f}" if m and b else "-")
print(f"{'config':10} {'produce msgs/s':>14} {'vs base':>8} {'consume msgs/s':>14} {'vs base':>8}   runs (produce / consume)")
for c in sys.argv[1:]:
    pm, pr = cols(prod, c)
    cm, cr = cols(cons, c)
    print(f"{c:10} {pm} {pr:>8} {cm} {cr:>8}   {prod[c]} / {cons[c]}")
EOF

#!/usr/bin/env bash
# Queues: produce spread over TOPICS x QUEUES (`thruster bench produce --topics N --queues Q`, 4x100, 1 KiB),
# then, once the broker has dispatched all of it (its dispatchBehindBytes back to 0; the seconds that took after
# the produce ended are a column), one consumer pulling all of it back (`thruster bench consume --topics N`), a
# fresh broker per point. msgs/s and p99 of both, client and broker CPU per message, and after the consume the
# consume-queue files (how many queues got messages), the disk they take (du) and the broker's open descriptors.
# Writes $OUT/queues.csv.
#   POINTS="1x8 1x100 10x100 100x100" MESSAGES=100000 CQ_FILE=6000000
# CQ_FILE is the broker's mappedFileSizeConsumeQueue (bytes per consume-queue file, 20 per entry; RocketMQ's
# default). The files are sparse: a queue takes disk for its entries (in 64 KiB reserve steps), not CQ_FILE.
# BROKER_FLAGS: more broker flags, e.g. "--commitLogCacheKeepMb=0" to keep every written page: with the default the
# broker keeps only 256 MiB behind the writer while no consumer group is online, as none is during the produce
# here, so beyond that the consume reads pages back from the disk.
source "$(dirname "$0")/lib.sh"
# Every point's store stays until the curve ends (see lib.sh): no point creates its queues' files right after the
# previous point deleted as many. Run the curve again only a few minutes after the last one ended, for the same
# reason.
CURVE_KEEP_STORES=1
POINTS=${POINTS:-"1x8 1x100 10x100 100x100"}
MESSAGES=${MESSAGES:-100000}
CQ_FILE=${CQ_FILE:-6000000}
BROKER_FLAGS=${BROKER_FLAGS:-}
CURVE_KNOBS="POINTS='$POINTS' MESSAGES=$MESSAGES CQ_FILE=$CQ_FILE${BROKER_FLAGS:+ BROKER_FLAGS='$BROKER_FLAGS'}"
csv_open queues topics queues_per_topic queues messages produce_msgs_per_sec produce_p99_us \
  produce_client_cpu_us_per_msg produce_broker_cpu_us_per_msg produce_client_bound consume_msgs_per_sec \
  dispatch_wait_s consume_p99_us consume_broker_cpu_us_per_msg errors cq_files cq_disk_kib broker_fds
for point in $POINTS; do
  t=${point%x*}
  q=${point#*x}
  # shellcheck disable=SC2086  # BROKER_FLAGS is a list of flags
  start_broker --mappedFileSizeConsumeQueue="$CQ_FILE" $BROKER_FLAGS
  out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Q --topics "$t" --queues "$q" \
    --messages "$MESSAGES" --runs 1 --warmup-bytes 0 --broker-pid "$BROKER_PID" --json </dev/null) || true
  read -r rate p99 ccpu bcpu bound errs <<<"$(jget "$out" msgs_per_sec p99_us client_cpu_us_per_msg \
    broker_cpu_us_per_msg client_bound errors)"
  [[ -n $rate ]] || echo "produce at $point: $out" >&2
  # Consume only what the broker has dispatched to the consume queues: until then a pull finds queues empty.
  wait_start=$(date +%s.%N)
  fails=0
  for _ in $(seq 1 6000); do
    behind=$("$BIN/thruster" admin brokerStatus --namesrvAddr "127.0.0.1:$NP" --brokerAddr "127.0.0.1:$BP" --json \
      </dev/null 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["dispatchBehindBytes"])' \
      2>/dev/null) || behind=
    [[ $behind == 0 ]] && break
    [[ -n $behind ]] && fails=0 || { ((++fails < 20)) || break; }
    sleep 0.1
  done
  [[ $behind == 0 ]] || echo "dispatch at $point: still behind (${behind:-broker status unreadable})" >&2
  dispatch_wait=$(python3 -c "import time; print(f'{time.time() - $wait_start:.1f}')")
  cout=$("$BIN/thruster" bench consume --namesrv "127.0.0.1:$NP" --topic Q --topics "$t" --group QueuesCurve \
    --runs 1 --warmup-messages 0 --commit false --broker-pid "$BROKER_PID" --json </dev/null) || true
  read -r crate cp99 cbcpu cerrs <<<"$(jget "$cout" msgs_per_sec p99_us broker_cpu_us_per_msg errors)"
  [[ -n $crate ]] || echo "consume at $point: $cout" >&2
  [[ ${cerrs:-0} == 0 ]] || echo "consume at $point: $cerrs errors, the first: $(jget "$cout" first_error)" >&2
  [[ ${errs:-0} == 0 ]] || echo "produce at $point: $errs errors, the first: $(jget "$out" first_error)" >&2
  cq_files=$(find "$STORE/consumequeue" -type f 2>/dev/null | wc -l)
  cq_kib=$(du -sk "$STORE/consumequeue" 2>/dev/null | cut -f1)
  fds=$(ls "/proc/$BROKER_PID/fd" 2>/dev/null | wc -l)
  csv_row "$t" "$q" $((t * q)) "$MESSAGES" "$rate" "$p99" "$ccpu" "$bcpu" "$bound" "$crate" "$dispatch_wait" \
    "$cp99" "$cbcpu" \
    $(( ${errs:-0} + ${cerrs:-0} )) "$cq_files" "${cq_kib:-}" "$fds"
  stop_broker
done

#!/usr/bin/env bash
# Queues: produce spread over TOPICS x QUEUES (`thruster bench produce --topics N --queues Q`, 4x100, 1 KiB),
# then one consumer pulling all of it back (`thruster bench consume --topics N`), a fresh broker per point.
# msgs/s and p99 of both, client and broker CPU per message. Writes $OUT/queues.csv.
#   POINTS="1x8 1x100 10x100 100x100" MESSAGES=100000 CQ_FILE=120000
# CQ_FILE is the broker's mappedFileSizeConsumeQueue (bytes per consume-queue file, 20 per entry): each queue
# that gets a message allocates one such file, so RocketMQ's 6,000,000 takes 60 GB of disk at 10,000 queues.
source "$(dirname "$0")/lib.sh"
POINTS=${POINTS:-"1x8 1x100 10x100 100x100"}
MESSAGES=${MESSAGES:-100000}
CQ_FILE=${CQ_FILE:-120000}
CURVE_KNOBS="POINTS='$POINTS' MESSAGES=$MESSAGES CQ_FILE=$CQ_FILE"
csv_open queues topics queues_per_topic queues messages produce_msgs_per_sec produce_p99_us \
  produce_client_cpu_us_per_msg produce_broker_cpu_us_per_msg produce_client_bound consume_msgs_per_sec \
  consume_p99_us consume_broker_cpu_us_per_msg errors
for point in $POINTS; do
  t=${point%x*}
  q=${point#*x}
  start_broker --mappedFileSizeConsumeQueue="$CQ_FILE"
  out=$("$BIN/thruster" bench produce --namesrv "127.0.0.1:$NP" --topic Q --topics "$t" --queues "$q" \
    --messages "$MESSAGES" --runs 1 --warmup-bytes 0 --broker-pid "$BROKER_PID" --json </dev/null) || true
  read -r rate p99 ccpu bcpu bound errs <<<"$(jget "$out" msgs_per_sec p99_us client_cpu_us_per_msg \
    broker_cpu_us_per_msg client_bound errors)"
  [[ -n $rate ]] || echo "produce at $point: $out" >&2
  cout=$("$BIN/thruster" bench consume --namesrv "127.0.0.1:$NP" --topic Q --topics "$t" --group QueuesCurve \
    --runs 1 --warmup-messages 0 --commit false --broker-pid "$BROKER_PID" --json </dev/null) || true
  read -r crate cp99 cbcpu cerrs <<<"$(jget "$cout" msgs_per_sec p99_us broker_cpu_us_per_msg errors)"
  [[ -n $crate ]] || echo "consume at $point: $cout" >&2
  csv_row "$t" "$q" $((t * q)) "$MESSAGES" "$rate" "$p99" "$ccpu" "$bcpu" "$bound" "$crate" "$cp99" "$cbcpu" \
    $(( ${errs:-0} + ${cerrs:-0} ))
  stop_broker
done

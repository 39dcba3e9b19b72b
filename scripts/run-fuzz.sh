#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build (the `fuzz` preset) for FUZZ_SECONDS each, starting from its
# in-tree seed corpus (tests/fuzz/corpus/<target>, read only) and the inputs earlier runs found
# (<build>/corpus/<target>). Ends with one line per target: executions, executions per second, coverage
# (edges, features), corpus size, and the crash file when there was one. Exits 1 when a target crashed.
#   scripts/run-fuzz.sh build/fuzz 60 [target...]
set -u
build=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]}
seconds=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for d in "$root"/tests/fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi
mkdir -p "$build/corpus" "$build/artifacts" "$build/logs"
# Fuzzers are single-threaded: FUZZ_JOBS of them run side by side (default: one per CPU).
jobs=${FUZZ_JOBS:-$(nproc)}
# fuzz_one TARGET: runs it; writes its summary line to logs/TARGET.line, and logs/TARGET.crashed when it crashed.
fuzz_one() {
  local t=$1 bin="$build/tests/fuzz/fuzz_$1" log="$build/logs/$1.log" rc execs rate cov line crash
  rm -f "$build/logs/$t.line" "$build/logs/$t.crashed"
  if [ ! -x "$bin" ]; then
    echo "no fuzz target $bin" >&2
    echo "$t  MISSING $bin" >"$build/logs/$t.line"
    touch "$build/logs/$t.crashed"
    return
  fi
  mkdir -p "$build/corpus/$t"
  echo "== fuzz_$t for ${seconds}s"
  "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" "$build/corpus/$t" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1)
  line=$(printf '%-12s execs %-9s exec/s %-6s %s' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}")
  if [ $rc -ne 0 ]; then
    crash=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')
    line="$line  CRASH ${crash:-(see $log)}"
    grep -E 'ERROR|invariant|runtime error' "$log" | head -n 5
    touch "$build/logs/$t.crashed"
  fi
  echo "$line" >"$build/logs/$t.line"
}
running=0
for t in "${targets[@]}"; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
failed=0
echo "== fuzz summary (${seconds}s per target, $jobs at a time)"
for t in "${targets[@]}"; do
  cat "$build/logs/$t.line"
  [ -e "$build/logs/$t.crashed" ] && failed=1
done
exit $failed

#!/usr/bin/env bash
# The cost-curve scripts must not rot: runs bench/curves/surface.sh (producers x in-flight) at a tiny size
# against the thruster and thruster-broker in APPS_DIR, checks its CSV (the machine columns, one row per point,
# rates and latencies that make sense, no errors, CPU per message of client and broker) and that report.py
# draws it as SVGs.
# Usage: curves_smoke_test.sh APPS_DIR
set -euo pipefail
apps=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
BIN=$apps OUT=$out PRODUCERS="1 2" INFLIGHT="1 8" MESSAGES=2000 bash "$repo/bench/curves/surface.sh" >"$out/run.log" 2>&1 ||
  { cat "$out/run.log"; echo "surface.sh failed"; exit 1; }
python3 - "$out/surface.csv" "$(nproc)" <<'PY'
import csv, sys
path, nproc = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(path, newline="")))
want = ["nproc", "cpu_model", "date", "commit", "load_avg", "command", "producers", "inflight", "size", "messages",
        "msgs_per_sec", "p50_us", "p99_us", "client_cpu_us_per_msg", "broker_cpu_us_per_msg", "client_bound",
        "errors"]
head = open(path).readline().strip().split(",")
assert head == want, f"columns {head}, expected {want}"
pairs = [(int(r["producers"]), int(r["inflight"])) for r in rows]
assert pairs == [(1, 1), (1, 8), (2, 1), (2, 8)], f"points {pairs}"
for r in rows:
    point = f"{r['producers']}x{r['inflight']}"
    assert r["nproc"] == nproc and r["commit"] and r["command"].startswith("bench/curves/surface.sh"), r
    assert int(r["errors"]) == 0, f"{point}: {r['errors']} errors"
    assert float(r["msgs_per_sec"]) > 0, f"{point}: rate {r['msgs_per_sec']}"
    assert 0 < float(r["p50_us"]) <= float(r["p99_us"]), f"{point}: p50 {r['p50_us']} p99 {r['p99_us']}"
    assert float(r["client_cpu_us_per_msg"]) > 0 and float(r["broker_cpu_us_per_msg"]) > 0, f"{point}: cpu"
    assert r["client_bound"] in ("0", "1"), r["client_bound"]
print(f"{len(rows)} rows ok")
PY
python3 "$repo/bench/curves/report.py" "$out" "$out/svg" >/dev/null
for f in surface.svg surface-latency.svg; do
  grep -q '<svg' "$out/svg/$f" || { echo "$f was not drawn"; exit 1; }
done
echo "curves smoke test ok"

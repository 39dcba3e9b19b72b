#!/usr/bin/env bash
# Per-thread CPU of a running process over a window: each thread's name (as `top -H` shows it), its CPU
# time (user + system) over the window and that as a share of the window, busiest first. A thread near
# 100% is what serialises the process (one io thread carrying every connection, one append lock holder).
# Usage: bench/thread-cpu.sh PID [SECONDS]   (default 5)
set -euo pipefail
pid=$1
secs=${2:-5}
snap() {
  for t in /proc/"$pid"/task/*; do
    [[ -r $t/stat ]] || continue
    # utime and stime are fields 14 and 15; the name (field 2) may hold spaces, so count after its ')'.
    echo "${t##*/} $(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}') $(tr ' ' '_' <"$t/comm")"
  done
}
a=$(snap)
sleep "$secs"
b=$(snap)
python3 - "$a" "$b" "$secs" "$(getconf CLK_TCK)" <<'PY'
import sys
a = {l.split()[0]: l.split() for l in sys.argv[1].splitlines()}
b = {l.split()[0]: l.split() for l in sys.argv[2].splitlines()}
secs, tck = float(sys.argv[3]), float(sys.argv[4])
rows = []
for tid, (t, ticks, name) in b.items():
    d = (float(ticks) - float(a[tid][1]) if tid in a else float(ticks)) / tck
    rows.append((d, name, tid))
rows.sort(reverse=True)
total = sum(r[0] for r in rows)
print(f"{'thread':16} {'tid':>8} {'cpu s':>7} {'% of window':>11}")
for d, name, tid in rows:
    if d > 0:
        print(f"{name:16} {tid:>8} {d:7.2f} {100 * d / secs:10.0f}%")
print(f"{'total':16} {'':>8} {total:7.2f} {100 * total / secs:10.0f}%")
PY

#!/usr/bin/env bash
# Compares `thruster bench store` (async flush, one thread) with dd writing the same number of bytes with
# O_DIRECT to the same disk, in one run. Usage: bench/store/vs_dd.sh DIR [MESSAGES] [SIZE] [BENCH OPTIONS...]
# Options after SIZE go to `thruster bench store`, e.g. --set commitLogCacheKeepMb=1024.
set -euo pipefail
dir=${1:?usage: vs_dd.sh DIR [MESSAGES] [SIZE]}
messages=${2:-4000000}
size=${3:-1024}
shift $(( $# < 3 ? $# : 3 ))
here=$(cd "$(dirname "$0")/../.." && pwd)
thruster="$here/build/release/apps/thruster"
mkdir -p "$dir"
json=$("$thruster" bench store --dir "$dir/store" --messages "$messages" --size "$size" "$@" --json 2>/dev/null | tail -1)
bytes=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['commitlog_bytes'])" "$json")
mib=$(( (bytes + 1048575) / 1048576 ))
dd_out=$(dd if=/dev/zero of="$dir/dd.bin" bs=1M count="$mib" oflag=direct 2>&1 | tail -1)
rm -f "$dir/dd.bin"
python3 - "$json" "$dd_out" "$bytes" <<'PY'
import json, re, sys
j = json.loads(sys.argv[1]); dd = sys.argv[2]; nbytes = int(sys.argv[3])
secs = float(re.search(r'copied, ([0-9.]+) s', dd).group(1))
dd_mbs = nbytes / secs / 1e6
th_mbs = nbytes / j["seconds"] / 1e6
print(f"thruster: {j['msgs_per_sec']:.0f} msgs/s, {th_mbs:.0f} MB/s of CommitLog; p50 {j['p50_us']:.2f} us, p99 {j['p99_us']:.2f} us")
print(f"dd (O_DIRECT, 1 MiB blocks, same bytes): {dd_mbs:.0f} MB/s")
print(f"ratio thruster/dd: {th_mbs / dd_mbs:.2f}")
PY

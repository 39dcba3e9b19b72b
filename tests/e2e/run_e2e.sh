#!/usr/bin/env bash
# CTest entry for the end-to-end tests: run_e2e.sh <thruster-broker binary> [test file, default
# broker.test.js] [npm client it needs, default ali-ons].
# `make test` installs the client first (scripts/install-e2e-deps.sh); a missing client fails the test, it is
# never skipped.
set -euo pipefail
broker="$1"
file="${2:-broker.test.js}"
client="${3:-ali-ons}"
dir="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node >/dev/null 2>&1; then
  echo "FAIL: node is not installed (scripts/install-deps.sh installs it)"
  exit 1
fi
if [ ! -d "$dir/node_modules/$client" ]; then
  echo "FAIL: $dir/node_modules/$client is missing (scripts/install-e2e-deps.sh installs it)"
  exit 1
fi
cd "$dir"
THRUSTER_BROKER="$broker" exec node --test "$file"

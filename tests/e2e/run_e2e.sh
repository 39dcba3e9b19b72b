#!/usr/bin/env bash
# CTest entry for the ali-ons end-to-end tests: run_e2e.sh <thruster-broker binary>.
# Skips (exit 77) when node or the npm dependencies are missing; `.ci/run` installs them with npm ci.
set -euo pipefail
broker="$1"
dir="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed"
  exit 77
fi
if [ ! -d "$dir/node_modules/ali-ons" ]; then
  echo "SKIP: $dir/node_modules is missing (run 'npm ci' in tests/e2e)"
  exit 77
fi
cd "$dir"
THRUSTER_BROKER="$broker" exec node --test broker.test.js

#!/usr/bin/env bash
# CTest entry for the dashboard test: run_dashboard.sh <thruster-broker binary> <thruster binary>.
# Drives headless Chromium (Debian's chromium, scripts/install-deps.sh) with playwright-core
# (scripts/install-e2e-deps.sh); a missing one fails the test, it is never skipped.
# THRUSTER_DASHBOARD_SCREENSHOTS=<dir> also saves screenshots of the main pages there.
set -euo pipefail
dir="$(cd "$(dirname "$0")" && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if ! command -v node >/dev/null 2>&1; then
  echo "FAIL: node is not installed (scripts/install-deps.sh installs it)"
  exit 1
fi
if [ ! -x "$chromium" ]; then
  echo "FAIL: $chromium is missing (scripts/install-deps.sh installs Debian's chromium)"
  exit 1
fi
for m in ali-ons playwright-core; do
  if [ ! -d "$dir/node_modules/$m" ]; then
    echo "FAIL: $dir/node_modules/$m is missing (scripts/install-e2e-deps.sh installs it)"
    exit 1
  fi
done
cd "$dir"
THRUSTER_BROKER="$1" THRUSTER_CLI="$2" CHROMIUM="$chromium" exec node --test dashboard.test.js

#!/usr/bin/env bash
# Installs the real RocketMQ clients the end-to-end tests drive (tests/e2e/package.json, pinned by its lock file).
# playwright-core drives Chromium in the dashboard's test; rocketmq-client-nodejs is the 5.x (gRPC) client.
# Idempotent: does nothing when node_modules already matches the lock file. `make test` calls it.
set -euo pipefail
cd "$(dirname "$0")/../tests/e2e"
if [ -d node_modules/ali-ons ] && [ -d node_modules/playwright-core ] && [ -d node_modules/rocketmq-client-nodejs ] &&
  [ node_modules/.package-lock.json -nt package-lock.json ]; then
  exit 0
fi
echo "install-e2e-deps: npm ci in tests/e2e"
npm ci --no-audit --no-fund --loglevel=error

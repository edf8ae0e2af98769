#!/usr/bin/env bash
# Runs the unit suite under the pinned Node 22 (tools/install-node.sh), the runtime Azure Functions runs the
# app on; `npm test` runs everything under the machine's Node 20. Extra arguments go to vitest.
#
# The unit suite is every test file except those that exercise processes and tools rather than the code on a
# runtime: the local Functions host and the flows through it, `npm start`'s story, the drills, the bench, the
# browser test and the Bicep/hook checks (test/infra keeps only runtime.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

node_bin="$(bash tools/install-node.sh)"
export PATH="$(dirname "$node_bin"):$PATH"
version="$(node --version)"
echo "test-node22: $(command -v node) is $version" >&2
case "$version" in
  v22.*) ;;
  *) echo "test-node22: expected Node 22 first on PATH, got $version" >&2; exit 1 ;;
esac
# test/infra/runtime.test.ts checks that the test workers really run on this major.
export PGFLEX_EXPECT_NODE_MAJOR=22

exec node node_modules/vitest/vitest.mjs run \
  --exclude 'test/host/**' \
  --exclude 'test/flows/**' \
  --exclude 'test/start/**' \
  --exclude 'test/drills/**' \
  --exclude 'test/bench/**' \
  --exclude 'test/**/host-*.test.ts' \
  --exclude 'test/dashboard/browser.test.ts' \
  --exclude 'test/infra/{bicep,crosscheck,deployment,hooks}.test.ts' \
  "$@"

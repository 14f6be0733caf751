#!/usr/bin/env bash
# `npm run test:containers`: the tests that need a Docker engine (README, "Running in
# containers"). Builds or reuses the images, runs test/containers/*, then a few integration
# files with every Redis from a container of the base image (Debian trixie's Redis 8).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
bash scripts/build-images.sh
t1=$SECONDS
npx vitest run --config vitest.containers.config.ts
t2=$SECONDS
PROVFLOW_TEST_REDIS=container PROVFLOW_REDIS_IMAGE="${PROVFLOW_BASE_IMAGE:-provflow-base:local}" \
  npx vitest run test/integration/limiter.test.ts test/integration/metrics-counters.test.ts \
  test/integration/board-masking.test.ts test/integration/graph-client-simulator.test.ts
t3=$SECONDS
printf 'container tests: images %d s, stack + testcontainers %d s, integration on Redis 8 %d s, total %d s\n' \
  $((t1 - t0)) $((t2 - t1)) $((t3 - t2)) $((t3 - t0))

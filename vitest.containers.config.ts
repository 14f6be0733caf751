import { defineConfig } from 'vitest/config';

// `npm run test:containers`: tests that need a Docker engine and the images built by
// scripts/build-images.sh. One file at a time: they share the engine and two cores.
export default defineConfig({
  test: {
    include: ['test/containers/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default'],
  },
});

import { configDefaults, defineConfig } from 'vitest/config';

// Integration tests spawn redis-server, the simulator and worker processes; two cores only,
// so files run with limited parallelism and generous timeouts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Need a Docker engine and images: `npm run test:containers` (vitest.containers.config.ts).
    exclude: [...configDefaults.exclude, 'test/containers/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});

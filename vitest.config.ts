import { defineConfig } from 'vitest/config';

// One command runs every tier: unit tests (src/**/*.test.ts beside the code), integration tests
// (libs/*/test, services/*/test: real PostgreSQL and NATS) and end-to-end tests (infra/network/test:
// the network started as the README does).
export default defineConfig({
  test: {
    include: ['{libs,services,infra}/*/{src,test}/**/*.test.ts', 'proto/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});

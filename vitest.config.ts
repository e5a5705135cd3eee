import { defineConfig } from 'vitest/config';

// One command (`pnpm test`) runs every tier:
// - unit tests beside the code (src/**/*.test.ts), pure domain rules;
// - integration tests (libs/*/test, services/*/test) against the real PostgreSQL and NATS;
// - end-to-end tests (*.e2e.test.ts) that start the network the way the README does.
// The end-to-end group runs after the others and one file at a time: each starts five services
// on a two-core machine.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit+integration',
          include: ['{libs,services,infra}/*/{src,test}/**/*.test.ts', 'proto/**/*.test.ts'],
          exclude: ['**/*.e2e.test.ts', '**/node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['{libs,services,infra}/*/test/**/*.e2e.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

// Three tiers, each a project of its own so it runs alone (`pnpm test:unit`, `pnpm test:integration`,
// `pnpm test:e2e`); `pnpm test` runs all three in one run:
// - unit: tests beside the code (src/**/*.test.ts), pure rules, no servers. Its setup file refuses
//   every network connection, so a test that needs PostgreSQL or NATS fails here and belongs in
//   the package's test/ folder;
// - integration: libs/*/test, services/*/test, infra/*/test and proto/, against the real PostgreSQL
//   and NATS (each suite with its own database and streams, see startTestNetwork in @lotse/testing);
// - e2e (*.e2e.test.ts): start the network the way the README does. This group runs after the
//   others and one file at a time: each starts five services on a two-core machine.
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
          name: 'unit',
          include: ['{libs,services,infra}/*/src/**/*.test.ts'],
          exclude: ['**/*.e2e.test.ts', '**/node_modules/**'],
          setupFiles: ['libs/testing/src/no-servers.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['{libs,services,infra}/*/test/**/*.test.ts', 'proto/**/*.test.ts'],
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

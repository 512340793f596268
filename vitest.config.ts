import { defineConfig } from 'vitest/config';

// Two projects: `unit` (no services, in-memory FileIO) and `integration` (real services
// and independent readers; files run one at a time, they share the machine's services).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'packages/*/test/**/*.integration.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

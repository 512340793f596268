import { defineConfig } from 'vitest/config';

// vitest 5's reporter calls Map.groupBy (Node 21+) when it prints failures; Node 20
// lacks it, and the report of a failing test would crash. The config loads in the main
// process, so define it here.
if (typeof (Map as { groupBy?: unknown }).groupBy !== 'function') {
  Object.defineProperty(Map, 'groupBy', {
    configurable: true,
    writable: true,
    value<K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
      const out = new Map<K, T[]>();
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        const list = out.get(k);
        if (list) list.push(item);
        else out.set(k, [item]);
      }
      return out;
    },
  });
}

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
          // The build the engine's threads start from (scripts/build.mjs).
          globalSetup: ['test/support/build-global-setup.ts'],
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
          // The build kice and the engine's threads start from (scripts/build.mjs); at the
          // end, stops the shared Spark server (started by the first test that uses it).
          globalSetup: ['test/support/build-global-setup.ts', 'test/support/spark-global-setup.ts'],
        },
      },
    ],
  },
});

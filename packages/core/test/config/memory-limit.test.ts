import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import {
  budgetFor,
  minimumLimit,
  rowGroupBytesFor,
  threadLimits,
} from '../../src/config/memory-plan.ts';
import { rowGroupBytes } from '../../src/pipeline/table-flusher.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function yaml(extra: string): string {
  return `
kafka:
  brokers: [127.0.0.1:19092]
  groupId: kice-test
catalog:
  type: filesystem
  warehouse: ./wh
tables:
  - topic: orders
    table: shop.orders
deadLetter:
  topic: kice-dlq
${extra}`;
}

function problems(text: string): readonly string[] {
  try {
    parseConfig(text, { baseDir: '/base' });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('memory.limit', () => {
  it('derives the in-flight budget and the row-group cap from the limit and the worker count', () => {
    const c = parseConfig(yaml(`memory: { limit: ${512 * MiB} }\nworkers: { threads: 2 }\n`), {
      baseDir: '/base',
    });
    // (512 − 216 − 2 × (64 + 12 + 3 × 4)) MiB / 2.5
    expect(c.memory).toEqual({ limit: 512 * MiB, maxInFlightBytes: 48 * MiB });
    expect(rowGroupBytes(c)).toBe(4 * MiB);
    const g = parseConfig(yaml(`memory: { limit: ${GiB} }\nworkers: { threads: 2 }\n`), {
      baseDir: '/base',
    });
    // (1024 − 216 − 2 × (64 + 12 + 3 × 8)) MiB / 2.5
    expect(g.memory.maxInFlightBytes).toBe(Math.floor((608 * MiB) / 2.5));
    expect(rowGroupBytes(g)).toBe(8 * MiB);
    // More workers leave less for the budget.
    const four = parseConfig(yaml(`memory: { limit: ${GiB} }\nworkers: { threads: 4 }\n`), {
      baseDir: '/base',
    });
    expect(four.memory.maxInFlightBytes).toBe(Math.floor((408 * MiB) / 2.5));
  });

  it('refuses a limit too small for the worker count, naming the minimum for that many workers', () => {
    expect(problems(yaml(`memory: { limit: ${300 * MiB} }\nworkers: { threads: 2 }\n`))).toEqual([
      'memory.limit: 300 MiB is too small for 2 workers (workers.threads): at least 429 MiB (449839104)',
    ]);
    expect(
      parseConfig(yaml(`memory: { limit: ${360 * MiB} }\nworkers: { threads: 1 }\n`), {
        baseDir: '/base',
      }).memory.maxInFlightBytes,
    ).toBeGreaterThanOrEqual(16 * MiB);
    expect(problems(yaml(`memory: { limit: ${256 * MiB} }\nworkers: { threads: 1 }\n`))).toEqual([
      'memory.limit: 256 MiB is too small for 1 worker (workers.threads): at least 340 MiB (356515840)',
    ]);
    expect(minimumLimit(2)).toBe(429 * MiB);
    expect(budgetFor(429 * MiB, 2, rowGroupBytesFor(429 * MiB))).toBeGreaterThanOrEqual(16 * MiB);
    expect(budgetFor(428 * MiB, 2, rowGroupBytesFor(428 * MiB))).toBeLessThan(16 * MiB);
  });

  it('takes an explicit maxInFlightBytes that fits, and refuses one that does not, naming both settings', () => {
    const c = parseConfig(
      yaml(
        `memory: { limit: ${512 * MiB}, maxInFlightBytes: ${32 * MiB} }\nworkers: { threads: 2 }\n`,
      ),
      { baseDir: '/base' },
    );
    expect(c.memory).toEqual({ limit: 512 * MiB, maxInFlightBytes: 32 * MiB });
    expect(
      problems(
        yaml(
          `memory: { limit: ${512 * MiB}, maxInFlightBytes: ${64 * MiB} }\nworkers: { threads: 2 }\n`,
        ),
      ),
    ).toEqual([
      'memory.maxInFlightBytes: 64 MiB does not fit in memory.limit 512 MiB with 2 workers (workers.threads): at most 50331648; lower it, raise memory.limit, or leave memory.maxInFlightBytes out to derive it',
    ]);
  });

  it('counts an explicit parquet.rowGroupBytes in what the workers need', () => {
    const c = parseConfig(
      yaml(
        `memory: { limit: ${512 * MiB} }\nworkers: { threads: 2 }\nparquet: { rowGroupBytes: ${16 * MiB} }\n`,
      ),
      { baseDir: '/base' },
    );
    // (512 − 216 − 2 × (64 + 12 + 3 × 16)) MiB / 2.5
    expect(c.memory.maxInFlightBytes).toBe(Math.floor((48 * MiB) / 2.5));
    expect(rowGroupBytes(c)).toBe(16 * MiB);
    expect(
      problems(
        yaml(
          `memory: { limit: ${512 * MiB} }\nworkers: { threads: 2 }\nparquet: { rowGroupBytes: ${64 * MiB} }\n`,
        ),
      ),
    ).toEqual([
      'memory.limit: 512 MiB is too small for 2 workers (workers.threads): at least 792 MiB (830472192) with parquet.rowGroupBytes 67108864',
    ]);
  });

  it('is a positive integer of bytes', () => {
    expect(problems(yaml('memory: { limit: 512MiB }\n'))).toEqual([
      'memory.limit: Invalid input: expected number, received string',
    ]);
  });

  it('sizes the threads’ heaps from the limit; without one, as before, from the budget', () => {
    expect(threadLimits({ limit: 512 * MiB, maxInFlightBytes: 64 * MiB })).toEqual({
      worker: { maxYoungGenerationSizeMb: 12, maxOldGenerationSizeMb: 64 },
      committer: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
    });
    expect(
      threadLimits({ limit: 4 * GiB, maxInFlightBytes: GiB }).worker.maxOldGenerationSizeMb,
    ).toBe(256);
    expect(threadLimits({ maxInFlightBytes: 256 * MiB })).toEqual({
      worker: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 512 },
      committer: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 384 },
    });
  });

  it('leaves memory.maxInFlightBytes alone working as before', () => {
    const c = parseConfig(yaml(`memory: { maxInFlightBytes: ${32 * MiB} }\n`), {
      baseDir: '/base',
    });
    expect(c.memory).toEqual({ maxInFlightBytes: 32 * MiB });
    expect(rowGroupBytes(c)).toBe(4 * MiB);
    expect(parseConfig(yaml(''), { baseDir: '/base' }).memory).toEqual({
      maxInFlightBytes: 256 * MiB,
    });
  });
});

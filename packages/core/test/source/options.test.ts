import { describe, expect, it } from 'vitest';
import { type KafkaSourceOptions, resolveSourceOptions } from '../../src/source/options.ts';

const base: KafkaSourceOptions = { brokers: ['127.0.0.1:19092'], groupId: 'g', topics: ['a'] };

function problems(o: Partial<KafkaSourceOptions>): string[] {
  try {
    resolveSourceOptions({ ...base, ...o } as KafkaSourceOptions);
  } catch (e) {
    expect((e as { code?: string }).code).toBe('CONFIG_INVALID');
    return (e as { context: { problems: string[] } }).context.problems;
  }
  return [];
}

describe('resolveSourceOptions', () => {
  it('fills every default and freezes', () => {
    const r = resolveSourceOptions(base);
    expect(r).toMatchObject({
      topicRefreshIntervalMs: 30_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      minBytes: 1,
      maxWaitTimeInMs: 500,
      sessionTimeout: 30_000,
      heartbeatInterval: 10_000,
      rebalanceTimeout: 60_000,
      keepKeys: false,
      keepHeaders: false,
      fetch: 'kafkajs',
    });
    expect(Object.isFrozen(r)).toBe(true);
    expect(resolveSourceOptions({ ...base, fetch: 'raw' }).fetch).toBe('raw');
  });

  it('drops the g and y flags of a topic pattern', () => {
    const r = resolveSourceOptions({ ...base, topics: /^orders\./giy });
    expect(r.topics).toEqual(/^orders\./i);
  });

  it.each([
    [{ brokers: [] }, 'options.brokers must list at least one "host:port"'],
    [{ groupId: '' }, 'options.groupId must be a non-empty string'],
    [
      { topics: [] },
      'options.topics must be a RegExp or a non-empty list of non-empty topic names',
    ],
    [
      { topics: ['a', ''] },
      'options.topics must be a RegExp or a non-empty list of non-empty topic names',
    ],
    [
      { topicRefreshIntervalMs: -1 },
      'options.topicRefreshIntervalMs must be a non-negative integer (got -1)',
    ],
    [
      { maxBytesPerPartition: 0 },
      'options.maxBytesPerPartition must be a positive integer (got 0)',
    ],
    [{ minBytes: 1.5 }, 'options.minBytes must be a positive integer (got 1.5)'],
    [
      { maxWaitTimeInMs: 1001 },
      'options.maxWaitTimeInMs must be an integer from 0 to 1000 (got 1001)',
    ],
    [
      { heartbeatInterval: 30_000 },
      'options.heartbeatInterval must be less than options.sessionTimeout (got 30000 ≥ 30000)',
    ],
    [
      { maxBytesPerPartition: 2048, maxBytes: 1024 },
      'options.maxBytesPerPartition must not exceed options.maxBytes (got 2048 > 1024)',
    ],
    [{ fetch: 'librdkafka' }, 'options.fetch must be "raw" or "kafkajs" (got "librdkafka")'],
  ] as const)('refuses %o', (o, message) => {
    expect(problems(o as Partial<KafkaSourceOptions>)).toEqual([message]);
  });

  it('reports every problem at once', () => {
    expect(problems({ groupId: '', maxWaitTimeInMs: 5000, rebalanceTimeout: -1 })).toEqual([
      'options.groupId must be a non-empty string',
      'options.rebalanceTimeout must be a positive integer (got -1)',
      'options.maxWaitTimeInMs must be an integer from 0 to 1000 (got 5000)',
    ]);
  });
});

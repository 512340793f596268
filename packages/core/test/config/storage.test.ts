/** The `storage.s3` config key: defaults, an s3:// warehouse kept as is, errors with paths. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

const base = (warehouse: string, storage = '') => `
kafka:
  brokers: [127.0.0.1:19092]
  groupId: g
catalog:
  type: filesystem
  warehouse: ${warehouse}
tables:
  - topic: t
    table: a.t
deadLetter:
  topic: dlq
${storage}`;

function problems(text: string): readonly string[] {
  try {
    parseConfig(text, { baseDir: '/base' });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('storage.s3 config', () => {
  it('defaults part size, parts in flight, timeouts and the retry budget', () => {
    const c = parseConfig(base('./wh'), { baseDir: '/base' });
    expect(c.storage).toEqual({
      s3: {
        partSizeBytes: 8 * 1024 * 1024,
        partsInFlight: 4,
        requestTimeoutMs: 30_000,
        retry: { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 5_000, totalTimeoutMs: 60_000 },
      },
    });
  });

  it('keeps an s3:// warehouse and takes endpoint, path style and credentials', () => {
    const c = parseConfig(
      base(
        's3://bucket/wh',
        `storage:
  s3:
    endpoint: http://127.0.0.1:19400
    region: eu-west-1
    forcePathStyle: true
    accessKeyId: AK
    secretAccessKey: SK
    partSizeBytes: 16777216
    retry: { maxAttempts: 3 }`,
      ),
      { baseDir: '/base' },
    );
    expect(c.catalog.warehouse).toBe('s3://bucket/wh');
    expect(c.storage.s3).toMatchObject({
      endpoint: 'http://127.0.0.1:19400',
      region: 'eu-west-1',
      forcePathStyle: true,
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      partSizeBytes: 16 * 1024 * 1024,
      partsInFlight: 4,
      retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5_000, totalTimeoutMs: 60_000 },
    });
  });

  it('reports bad values with their paths', () => {
    const p = problems(
      base(
        './wh',
        `storage:
  s3:
    endpoint: not a url
    partSizeBytes: 1048576
    accessKeyId: AK
    bogus: 1
    retry: { baseDelayMs: 9000, maxDelayMs: 100 }`,
      ),
    );
    const paths = p.map((m) => m.split(':')[0]).sort();
    expect(paths).toEqual([
      'storage.s3.bogus',
      'storage.s3.endpoint',
      'storage.s3.partSizeBytes',
      'storage.s3.retry.baseDelayMs',
      'storage.s3.secretAccessKey',
    ]);
    expect(p).toContain('storage.s3.bogus: unknown setting');
    expect(p.find((m) => m.startsWith('storage.s3.partSizeBytes'))).toContain('5 MiB');
  });
});

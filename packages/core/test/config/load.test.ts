import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

const GOOD = `
kafka:
  brokers: [127.0.0.1:19092]
  groupId: kice-test
catalog:
  type: filesystem
  warehouse: ./wh
tables:
  - topic: orders
    table: shop.orders
    format: json
    partitionBy: [day(ts), bucket(16, user_id)]
  - topicPattern: '^clicks\\..*'
    table: raw.{topic}
commit:
  intervalMs: 5000
  targetFileSizeBytes: 1048576
deadLetter:
  topic: kice-dlq
`;

function problems(text: string): readonly string[] {
  try {
    parseConfig(text, { baseDir: '/base' });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('fills defaults, resolves the warehouse and freezes the result', () => {
    const c = parseConfig(GOOD, { baseDir: '/base' });
    expect(c.catalog.warehouse).toBe('/base/wh');
    expect(c.kafka.clientId).toBe('kice');
    expect(c.kafka.autoOffsetReset).toBe('earliest');
    expect(c.commit).toEqual({ intervalMs: 5000, targetFileSizeBytes: 1048576 });
    expect(c.deadLetter.tombstones).toBe('skip');
    expect(c.memory.maxInFlightBytes).toBe(256 * 1024 * 1024);
    expect(c.parquet).toEqual({
      compression: 'snappy',
      rowGroupSize: 1_000_000,
      dictionaryPageBytes: 65_536,
      pageIndex: false,
    });
    expect(c.tables.map((t) => t.typeConflicts)).toEqual(['asString', 'asString']);
    expect(c.limits).toEqual({
      maxRecordBytes: 1024 * 1024,
      maxNestingDepth: 32,
      maxColumns: 1000,
    });
    expect(c.tables[0]?.partitionBy).toEqual(['day(ts)', 'bucket(16, user_id)']);
    expect(Object.isFrozen(c.kafka)).toBe(true);
    expect(() => {
      (c.kafka as { groupId: string }).groupId = 'x';
    }).toThrow();
  });

  it('takes parquet.pageIndex and names a bad one by its path', () => {
    expect(
      parseConfig(`${GOOD}parquet: { pageIndex: true }\n`, { baseDir: '/b' }).parquet.pageIndex,
    ).toBe(true);
    expect(problems(`${GOOD}parquet: { pageIndex: 'yes' }\n`)).toEqual([
      expect.stringMatching(/^parquet\.pageIndex: /),
    ]);
  });

  it('takes parquet.dictionaryPageBytes and names a bad one by its path', () => {
    const c = parseConfig(`${GOOD}parquet: { dictionaryPageBytes: 1048576 }\n`, { baseDir: '/b' });
    expect(c.parquet.dictionaryPageBytes).toBe(1048576);
    expect(c.parquet.compression).toBe('snappy');
    expect(problems(`${GOOD}parquet: { dictionaryPageBytes: 0 }\n`)).toEqual([
      expect.stringMatching(/^parquet\.dictionaryPageBytes: /),
    ]);
  });

  it('reports every missing required key by path, at once', () => {
    expect(problems('tables: []\n')).toEqual([
      'kafka: required',
      'catalog: required',
      'tables: Too small: expected array to have >=1 items',
      'deadLetter: required',
    ]);
  });

  it('names bad nested settings by their path', () => {
    const text = `
kafka: { brokers: [nohost], groupId: g, bogus: 1 }
catalog: { type: hive, warehouse: /w }
tables:
  - { topic: a, topicPattern: b, table: x.a }
  - { topic: c, table: notqualified, partitionBy: ['weird(ts)'] }
  - { topicPattern: 'c.*', table: raw.fixed }
commit: { intervalMs: -1 }
deadLetter: { topic: dlq }
`;
    const p = problems(text);
    expect(p).toContain('kafka.brokers[0]: expected host:port');
    expect(p).toContain('kafka.bogus: unknown setting');
    expect(p).toContain('catalog.type: must be one of "filesystem", "rest", got "hive"');
    expect(p).toContain('tables[0].topic: set exactly one of topic or topicPattern');
    expect(p).toContain(
      'tables[1].table: "notqualified" is not namespace.name (letters, digits, underscores)',
    );
    expect(
      p.find((x) =>
        x.startsWith('tables[1].partitionBy[0]: "weird(ts)" is not a partition transform'),
      ),
    ).toBeDefined();
    expect(p).toContain(
      'tables[2].table: a topicPattern table needs a template with {topic}, e.g. "raw.{topic}"',
    );
    expect(p).toContain('commit.intervalMs: Too small: expected number to be >0');
  });

  it('defaults the Kafka retry budget and the shutdown deadline', () => {
    const c = parseConfig(GOOD, { baseDir: '/base' });
    expect(c.kafka.retry).toEqual({ initialDelayMs: 250, maxDelayMs: 5_000, timeoutMs: 300_000 });
    expect(c.shutdown).toEqual({ timeoutMs: 30_000 });
  });

  it('fetches raw by default, kafkajs when asked, and names a bad fetch setting', () => {
    expect(parseConfig(GOOD, { baseDir: '/base' }).kafka.fetch).toBe('raw');
    const text = (fetch: string) => `
kafka: { brokers: [a:1], groupId: g, fetch: ${fetch} }
catalog: { type: filesystem, warehouse: /w }
tables: [{ topic: a, table: x.a }]
deadLetter: { topic: dlq }
`;
    expect(parseConfig(text('kafkajs'), { baseDir: '/base' }).kafka.fetch).toBe('kafkajs');
    expect(problems(text('librdkafka'))).toEqual([
      'kafka.fetch: must be one of "raw", "kafkajs", got "librdkafka"',
    ]);
  });

  it('names every bad retry and shutdown setting by its path', () => {
    const text = `
kafka:
  brokers: [a:1]
  groupId: g
  retry: { initialDelayMs: 9000, maxDelayMs: 8000, timeoutMs: 7000, jitter: 1 }
catalog: { type: filesystem, warehouse: /w }
tables: [{ topic: a, table: x.a }]
deadLetter: { topic: dlq }
shutdown: { timeoutMs: 0 }
`;
    expect(problems(text)).toEqual([
      'kafka.retry.jitter: unknown setting',
      'kafka.retry.initialDelayMs: must not exceed kafka.retry.maxDelayMs (8000)',
      'kafka.retry.maxDelayMs: must not exceed kafka.retry.timeoutMs (7000)',
      'shutdown.timeoutMs: Too small: expected number to be >0',
    ]);
  });

  it('refuses a topic routed twice and a dead-letter topic that is also an input', () => {
    const text = `
kafka: { brokers: ['k:1'], groupId: g }
catalog: { type: filesystem, warehouse: /w }
tables:
  - { topic: a, table: n.a }
  - { topic: a, table: n.b }
  - { topic: dlq, table: n.c }
deadLetter: { topic: dlq }
`;
    expect(problems(text)).toEqual([
      'tables[1].topic: topic "a" is already routed by tables[0]',
      'deadLetter.topic: "dlq" is also an input topic (tables[2].topic)',
    ]);
  });

  it('refuses a dead-letter topic that a topicPattern would consume', () => {
    const text = `
kafka: { brokers: ['k:1'], groupId: g }
catalog: { type: filesystem, warehouse: /w }
tables:
  - { topic: orders, table: n.orders }
  - { topicPattern: '^clicks\\.', table: 'raw.{topic}' }
  - { topicPattern: 'dlq$', table: 'raw.{topic}' }
deadLetter: { topic: clicks.dlq }
`;
    expect(problems(text)).toEqual([
      'deadLetter.topic: "clicks.dlq" matches tables[1].topicPattern "^clicks\\."; dead letters would be consumed as input',
      'deadLetter.topic: "clicks.dlq" matches tables[2].topicPattern "dlq$"; dead letters would be consumed as input',
    ]);
  });

  it('defaults the dead-letter topic creation settings', () => {
    const c = parseConfig(GOOD, { baseDir: '/base' });
    expect(c.deadLetter).toEqual({
      topic: 'kice-dlq',
      tombstones: 'skip',
      create: true,
      partitions: 1,
      replicationFactor: -1,
    });
  });

  it('names every bad dead-letter setting by its path, at once', () => {
    const text = `
kafka: { brokers: ['k:1'], groupId: g }
catalog: { type: filesystem, warehouse: /w }
tables: [{ topic: a, table: n.a }]
deadLetter: { topic: dlq, create: 'yes', partitions: 0, replicationFactor: 0, size: 3 }
`;
    expect(problems(text)).toEqual([
      'deadLetter.create: Invalid input: expected boolean, received string',
      'deadLetter.partitions: Too small: expected number to be >0',
      "deadLetter.replicationFactor: expected -1 (the broker's default.replication.factor) or 1 to 32767",
      'deadLetter.size: unknown setting',
    ]);
  });

  it('needs a dead-letter topic, table or both', () => {
    const base = `
kafka: { brokers: ['k:1'], groupId: g }
catalog: { type: filesystem, warehouse: /w }
tables: [{ topic: a, table: n.a }]
`;
    expect(problems(`${base}deadLetter: { tombstones: deadLetter }\n`)).toEqual([
      'deadLetter: set topic, table or both (where dead letters go)',
    ]);
    expect(problems(base)).toEqual(['deadLetter: required']);
    const table = parseConfig(`${base}deadLetter: { table: n.dlq }\n`);
    expect(table.deadLetter.table).toBe('n.dlq');
    expect(table.deadLetter.topic).toBeUndefined();
    const both = parseConfig(`${base}deadLetter: { topic: dlq, table: n.dlq }\n`);
    expect([both.deadLetter.topic, both.deadLetter.table]).toEqual(['dlq', 'n.dlq']);
  });

  it('refuses a dead-letter table that is not namespace.name or is a target table', () => {
    const base = `
kafka: { brokers: ['k:1'], groupId: g }
catalog: { type: filesystem, warehouse: /w }
tables: [{ topic: a, table: n.a }]
`;
    expect(problems(`${base}deadLetter: { table: dlq }\n`)).toEqual([
      'deadLetter.table: expected namespace.name (letters, digits, underscores)',
    ]);
    expect(problems(`${base}deadLetter: { table: 'n.bad-name' }\n`)).toEqual([
      'deadLetter.table: expected namespace.name (letters, digits, underscores)',
    ]);
    expect(problems(`${base}deadLetter: { table: n.a }\n`)).toEqual([
      'deadLetter.table: "n.a" is also tables[0].table',
    ]);
  });

  it('validates typeConflicts and the decoding limits by path', () => {
    const text = `
kafka: { brokers: ['k:1'], groupId: g }
catalog: { type: filesystem, warehouse: /w }
tables:
  - { topic: a, table: n.a, typeConflicts: deadLetter }
  - { topic: b, table: n.b, typeConflicts: variant }
deadLetter: { topic: dlq }
limits: { maxNestingDepth: 0, maxColumns: 2.5 }
`;
    expect(problems(text)).toEqual([
      'tables[1].typeConflicts: must be one of "asString", "deadLetter", got "variant"',
      'limits.maxNestingDepth: Too small: expected number to be >0',
      'limits.maxColumns: Invalid input: expected int, received number',
    ]);
  });

  it('reports YAML syntax errors', () => {
    expect(problems('kafka: [unclosed\n')[0]).toMatch(/^\(yaml\): /);
  });

  it('reads a REST catalog and names its bad settings by path', () => {
    const rest = (catalog: string): string =>
      GOOD.replace('catalog:\n  type: filesystem\n  warehouse: ./wh', `catalog: ${catalog}`);
    const c = parseConfig(
      rest(
        '{ type: rest, uri: "http://127.0.0.1:19181", warehouse: wh, credential: "id:secret", prefix: p, headers: { X-A: b }, scope: catalog, oauth2ServerUri: "https://auth.example/token", accessDelegation: vended-credentials }',
      ),
      { baseDir: '/base' },
    );
    expect(c.catalog).toEqual({
      type: 'rest',
      uri: 'http://127.0.0.1:19181',
      warehouse: 'wh',
      credential: 'id:secret',
      prefix: 'p',
      headers: { 'X-A': 'b' },
      scope: 'catalog',
      oauth2ServerUri: 'https://auth.example/token',
      accessDelegation: 'vended-credentials',
    });
    expect(problems(rest('{ type: rest, uri: "ftp://h/x" }'))).toEqual([
      'catalog.uri: expected http(s) URL',
    ]);
    expect(problems(rest('{ type: rest }'))).toEqual(['catalog.uri: required']);
    expect(problems(rest('{ uri: "http://h" }'))).toEqual(['catalog.type: required']);
    expect(
      problems(rest('{ type: rest, uri: "http://h", token: t, credential: "a:b", warehous: x }')),
    ).toEqual([
      'catalog.warehous: unknown setting',
      'catalog.token: set either credential or token, not both',
    ]);
    expect(problems(rest('{ type: rest, uri: "http://h", accessDelegation: yes }'))).toEqual([
      'catalog.accessDelegation: must be one of "vended-credentials", "remote-signing", got "yes"',
    ]);
  });
});

describe('metadata and key columns', () => {
  const table = (extra: string) => `
kafka: { brokers: [127.0.0.1:19092], groupId: g }
catalog: { type: filesystem, warehouse: /w }
tables:
  - { topic: a, table: x.a${extra} }
deadLetter: { topic: dlq }
`;

  it('are off by default; opt in with default names', () => {
    const off = parseConfig(table(''), { baseDir: '/b' }).tables[0];
    expect(off?.metadata).toBeUndefined();
    expect(off?.key).toEqual({ format: 'none', column: '_key' });
    const on = parseConfig(table(', metadata: {}, key: { format: json }'), { baseDir: '/b' })
      .tables[0];
    expect(on?.metadata).toEqual({ column: '_kafka' });
    expect(on?.key).toEqual({ format: 'json', column: '_key' });
  });

  it('refuses clashing names, paths as names, and types set inside them', () => {
    expect(
      problems(table(', metadata: { column: m }, key: { format: string, column: m }')),
    ).toEqual(['tables[0].key.column: the key column cannot have the metadata column\'s name "m"']);
    expect(problems(table(', metadata: { column: a.b }'))).toEqual([
      'tables[0].metadata.column: a top-level column name (no ".", "[" or "]")',
    ]);
    expect(problems(table(', key: { format: xml }'))).toEqual([
      'tables[0].key.format: must be one of "none", "string", "json", "avro", "json-schema", "protobuf", got "xml"',
    ]);
    expect(
      problems(
        table(
          ", metadata: {}, key: { format: string }, columns: { '_kafka.offset': int, _key: long }",
        ),
      ),
    ).toEqual([
      'tables[0].columns._kafka.offset: the metadata column "_kafka" has a fixed type; no column type can be set in it',
      'tables[0].columns._key: the key column "_key" is a string (key.format string); set key.format json to type its fields',
    ]);
  });
});

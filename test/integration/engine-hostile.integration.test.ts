/**
 * A hostile corpus through the real engine (`kice run --once` on the real broker; the
 * records are produced by kafkajs, not by kice): integers at and beyond ±2^53 and ±2^63,
 * -0, 1e400, 1,000-level nesting, 10,000 new keys, duplicate keys, invalid UTF-8, a byte
 * order mark, a lone surrogate escape, a 5 MB string and an empty key. Each record either
 * lands with exactly the values of a 64-bit-exact reference parser (every column of every
 * row, read back by PyIceberg) or is dead-lettered with a reason naming the limit or the
 * field; the engine runs to the end and exits 0, and the table schema stays small.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafka } from '../support/kafka.ts';
import { latestMetadata, readMetadata, runOnce, writeConfig } from '../support/kice-process.ts';
import { createTopic, exactProducer, readTopic } from '../support/produce.ts';
import { pyicebergRows, sortBy } from '../support/readers.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-hostile-${RUN}`;
const GROUP = `kice-e2e-hostile-${RUN}`;
const DLQ = `${GROUP}-dlq`;
const TABLE = 'e2e.hostile';

const text = (s: string) => Buffer.from(s, 'utf8');
const FIVE_MB = 'x'.repeat(5 * 1024 * 1024);

/** The corpus in produce order: raw value bytes, and the dead-letter reason if refused. */
const CORPUS: { value: Buffer; dead?: RegExp }[] = [
  { value: text('{"id":1,"d":0.5,"big":9007199254740992,"s":"first"}') },
  { value: text('{"id":2,"big":9007199254740993}') },
  { value: text('{"id":3,"big":-9007199254740993}') },
  { value: text('{"id":4,"big":9223372036854775807}') },
  { value: text('{"id":5,"big":-9223372036854775808}') },
  {
    value: text('{"id":6,"big":9223372036854775808}'),
    dead: /^field "big": 9223372036854775808 is beyond the range of long/,
  },
  {
    value: text('{"id":7,"big":-9223372036854775809}'),
    dead: /^field "big": -9223372036854775809 is beyond the range of long/,
  },
  { value: text('{"id":8,"big":-0,"d":-0.0}') },
  { value: text('{"id":9,"d":1e400}') },
  { value: text('{"id":10,"d":-1e400,"big":123456789012345678}') },
  {
    value: text(`{"id":11,"deep":${'['.repeat(1000)}1${']'.repeat(1000)}}`),
    dead: /^nested deeper than limits\.maxNestingDepth \(32\)$/,
  },
  {
    value: text(`{"id":12,${Array.from({ length: 10_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`),
    dead: /^field "k\d+": the table would have more than limits\.maxColumns \(1000\) columns$/,
  },
  { value: text('{"id":13,"s":"first","s":"last"}') },
  {
    value: Buffer.concat([text('{"id":14,"s":"a'), Buffer.from([0xc3, 0x28]), text('"}')]),
    dead: /^not valid UTF-8$/,
  },
  { value: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text('{"id":15,"s":"after a BOM"}')]) },
  { value: text('{"id":16,"s":"\\ud800x"}'), dead: /lone surrogate/ },
  { value: text('{"id":17,"s":"\\ud83d\\ude00 pair"}') },
  { value: text(`{"id":18,"s":"${FIVE_MB}"}`) },
  { value: text('{"id":19,"":1}'), dead: /^field "": an empty key cannot be a column name$/ },
  { value: text('{"id":20,"d":0.30000000000000004441,"big":1e2}') },
];

/**
 * The reference: JSON.parse after a pass over the raw text that turns every integer
 * literal of 16+ digits (outside strings) into a tagged string, so no digit is lost; then
 * each row as the table should hold it (long → bigint, double → number, string).
 */
function reference(raw: Buffer): Record<string, unknown> {
  let s = raw.toString('utf8');
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  const tagged = s.replace(
    /("(?:[^"\\]|\\.)*")|(?<![\d.eE+-])(-?\d{16,})(?![\d.eE])/g,
    (m, str, num) => (str !== undefined ? m : `{"$big":"${num}"}`),
  );
  const o = JSON.parse(tagged) as Record<string, unknown>;
  const int = (v: unknown) =>
    v === undefined || v === null
      ? null
      : typeof v === 'object'
        ? BigInt((v as { $big: string }).$big)
        : BigInt(v as number);
  return {
    id: int(o.id),
    d: o.d === undefined ? null : Number(o.d),
    big: int(o.big),
    s: o.s === undefined ? null : o.s,
  };
}

let brokers: string[];
let warehouse: string;
let dir: string;
let configPath: string;

beforeAll(async () => {
  brokers = [await startKafka()];
  // The source topic takes the 5 MB record; kice creates the dead-letter topic (broker defaults).
  await createTopic(brokers, TOPIC, 1, { 'max.message.bytes': String(16 * 1024 * 1024) });
  dir = await mkdtemp(join(tmpdir(), 'kice-e2e-hostile-'));
  warehouse = join(dir, 'warehouse');
  configPath = await writeConfig(dir, {
    kafka: {
      brokers,
      groupId: GROUP,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
    },
    catalog: { type: 'filesystem', warehouse },
    tables: [{ topic: TOPIC, table: TABLE }],
    deadLetter: { topic: DLQ },
    limits: { maxRecordBytes: 8 * 1024 * 1024 },
  });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('hostile corpus', () => {
  it('lands each record exactly or dead-letters it with a reason; the engine runs to the end', async () => {
    const producer = exactProducer(brokers);
    await producer.connect();
    try {
      await producer.send({
        topic: TOPIC,
        messages: CORPUS.map((r) => ({ value: r.value, partition: 0 })),
      });
    } finally {
      await producer.disconnect();
    }

    await runOnce(configPath);

    const meta = await latestMetadata(warehouse, TABLE);
    const rows = sortBy(await pyicebergRows(meta), 'id');
    const expected = CORPUS.filter((r) => r.dead === undefined).map((r) => reference(r.value));
    expect(rows.length).toBe(expected.length);
    rows.forEach((row, k) => {
      expect(row, `row ${String(row.id)}`).toEqual(expected[k]);
    });
    expect(Object.is(rows.find((r) => r.id === 8n)?.d, -0)).toBe(true);
    expect(rows.find((r) => r.id === 9n)?.d).toBe(Number.POSITIVE_INFINITY);

    // The schema did not take the 10,000 keys or the deep array.
    const m = await readMetadata(meta);
    const current = (m as unknown as { schemas: { fields: { name: string }[] }[] }).schemas.at(-1);
    expect(current?.fields.map((f) => f.name).sort()).toEqual(['big', 'd', 'id', 's']);

    const dead = await readTopic(brokers, DLQ);
    const want = CORPUS.map((r, offset) => ({ ...r, offset })).filter((r) => r.dead);
    expect(dead.map((d) => d.headers['kice.source.offset'])).toEqual(
      want.map((w) => String(w.offset)),
    );
    dead.forEach((d, k) => {
      const w = want[k];
      expect(d.headers['kice.error']).toMatch(w?.dead as RegExp);
      expect(Buffer.compare(d.value ?? Buffer.alloc(0), w?.value ?? Buffer.alloc(0))).toBe(0);
    });
  });
});

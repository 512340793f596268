import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { prepareBatch } from '../../../src/pipeline/prepare-batch.ts';
import { crc32c, crc32cImplementation, crc32cJs } from '../../../src/source/batches/crc32c.ts';
import {
  type ParsedRecords,
  type ParseInput,
  parseRecordBatches,
  RecordBatchError,
} from '../../../src/source/batches/parse.ts';
import { SharedSlabs } from '../../../src/source/fetch/shared-slabs.ts';
import { batchValue } from '../../../src/source/pack.ts';
import {
  concatBytes,
  encodeBatch,
  gzip,
  marker,
  shared,
  type TestBatch,
  zigzag,
  zstdRaw,
} from './encode.ts';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { compress(b: Uint8Array): Uint8Array };
const lz4 = require('lz4-napi') as { compressFrameSync(b: Buffer): Buffer };

const text = new TextDecoder();
const input = (data: Uint8Array, over: Partial<ParseInput> = {}): ParseInput => ({
  topic: 'orders',
  partition: 3,
  data: shared(data),
  fetchOffset: 0n,
  isolation: 'read_committed',
  ...over,
});

/** Record i's value as text (null for a tombstone). */
function values(r: ParsedRecords | undefined): (string | null)[] {
  if (!r) return [];
  return Array.from({ length: r.count }, (_, i) => {
    const v = batchValue({ ...r, epoch: 0 }, i);
    return v === null ? null : text.decode(v);
  });
}

describe.each([
  ['crc32c', crc32c],
  ['crc32cJs', crc32cJs],
])('%s', (_, crc) => {
  it('matches the standard check value and the RFC 3720 (iSCSI) test vectors', () => {
    expect(crc(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('checks a sub-range, whatever its alignment to 8-byte steps', () => {
    const digits = new TextEncoder().encode('xx123456789yyy');
    expect(crc(digits, 2, 11)).toBe(0xe3069283);
    expect(crc(new Uint8Array(0))).toBe(0);
    const s = new Uint8Array(new SharedArrayBuffer(14));
    s.set(digits);
    expect(crc(s, 2, 11)).toBe(0xe3069283);
  });
});

it('uses the native CRC-32C where @node-rs/crc32 is installed (it is, on this platform)', () => {
  expect(crc32cImplementation).toBe('native');
  const big = Uint8Array.from({ length: 100_003 }, (_, i) => (i * 2654435761) >>> 24);
  expect(crc32c(big, 5, 99_999)).toBe(crc32cJs(big, 5, 99_999));
});

describe('parseRecordBatches: framing', () => {
  // One batch written out by hand: base offset 5, two records (offset deltas 0 and 2), the
  // second 7 ms after the first, the first with key "k", value "hello", header h=v.
  const HAND = [
    '0000000000000005', // base offset 5
    '00000049', // batch length 73 (= 85 bytes in all - 12)
    '00000000', // partition leader epoch
    '02', // magic
    '7fd8f063', // CRC-32C of the bytes from attributes to the end
    '0000', // attributes: no codec, CreateTime, not transactional, not control
    '00000002', // last offset delta 2
    '0000018bcfe56800', // base timestamp 1700000000000
    '0000018bcfe56800', // max timestamp
    'ffffffffffffffff', // producer id -1
    'ffff', // producer epoch -1
    'ffffffff', // base sequence -1
    '00000002', // 2 records
    // record 0: length 16, attributes 0, ts delta 0, offset delta 0, key "k", value "hello",
    // 1 header: "h" = "v"
    '20',
    '00',
    '00',
    '00',
    '026b',
    '0a68656c6c6f',
    '02',
    '0268',
    '0276',
    // record 1: length 6, attributes 0, ts delta 7 (zigzag 14), offset delta 2 (4), null key,
    // null value, no headers
    '0c',
    '00',
    '0e',
    '04',
    '01',
    '01',
    '00',
  ].join('');
  const hand = Uint8Array.from(Buffer.from(HAND, 'hex'));

  it('reads a hand-written batch field by field', () => {
    const r = parseRecordBatches(input(hand, { keepKeys: true, keepHeaders: true }));
    expect(r).toMatchObject({ nextOffset: 8n, batches: 1, controlBatches: 0, truncatedBytes: 0 });
    const rec = r.records as ParsedRecords;
    expect(rec).toMatchObject({
      topic: 'orders',
      partition: 3,
      firstOffset: 5n,
      lastOffset: 7n,
      count: 2,
    });
    expect([...rec.recordOffsets]).toEqual([5n, 7n]);
    expect([...rec.timestamps]).toEqual([1700000000000, 1700000000007]);
    expect(rec.timestampTypes).toBeUndefined();
    expect(values(rec)).toEqual(['hello', null]);
    expect([...rec.offsets]).toEqual([0, 5, 5]);
    expect([...rec.nulls]).toEqual([0, 1]);
    expect(text.decode(rec.keys?.bytes)).toBe('k');
    expect([...(rec.keys?.nulls ?? [])]).toEqual([0, 1]);
    expect(rec.headers).toEqual([[{ key: 'h', value: new TextEncoder().encode('v') }], []]);
    // Values land in shared memory, as the decode workers read them.
    expect(rec.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('gives a SourceBatch that the decode path prepares as it prepares a packed one', () => {
    const rec = parseRecordBatches(input(hand)).records as ParsedRecords;
    const prepared = prepareBatch({ ...rec, epoch: 1 }, 1 << 20);
    expect(prepared.bytes).toBe(rec.bytes);
    expect(prepared.oversized.size).toBe(0);
  });

  it('rejects a CRC mismatch as a retryable error naming topic, partition and offset', () => {
    const bad = hand.slice();
    bad[70] = (bad[70] as number) ^ 1; // a byte of the first value
    const e = (() => {
      try {
        parseRecordBatches(input(bad));
      } catch (err) {
        return err;
      }
    })() as RecordBatchError;
    expect(e).toBeInstanceOf(RecordBatchError);
    expect(e.retryable).toBe(true);
    expect(e.code).toBe('KAFKA');
    expect(e.message).toMatch(
      /^record batch at orders\/3 offset 5: CRC32C mismatch \(stored 0x7fd8f063, computed 0x[0-9a-f]+\)/,
    );
    expect(e.context).toEqual({ topic: 'orders', partition: 3, offset: '5' });
  });

  it('ignores a batch cut short at the end and stays at it', () => {
    const second = encodeBatch({ baseOffset: 8n, records: [{ offsetDelta: 0, value: 'next' }] });
    const both = concatBytes(hand, second);
    for (const cut of [1, 11, 12, 60, second.length - 1]) {
      const r = parseRecordBatches(input(both.subarray(0, hand.length + cut)));
      expect(values(r.records)).toEqual(['hello', null]);
      expect(r.nextOffset).toBe(8n);
      expect(r.truncatedBytes).toBe(cut);
    }
    const whole = parseRecordBatches(input(both));
    expect(values(whole.records)).toEqual(['hello', null, 'next']);
    expect(whole.nextOffset).toBe(9n);
  });

  it('returns no records and the fetch offset when not even one batch is whole', () => {
    const r = parseRecordBatches(input(hand.subarray(0, 40), { fetchOffset: 5n }));
    expect(r).toEqual({
      nextOffset: 5n,
      batches: 0,
      controlBatches: 0,
      abortedRecords: 0,
      truncatedBytes: 40,
    });
    expect(parseRecordBatches(input(new Uint8Array(0), { fetchOffset: 9n })).nextOffset).toBe(9n);
  });

  it('tolerates offset gaps, and nextOffset covers records compacted off the end of a batch', () => {
    const data = concatBytes(
      encodeBatch({
        baseOffset: 0n,
        lastOffsetDelta: 9,
        records: [
          { offsetDelta: 3, value: 'a' },
          { offsetDelta: 7, value: 'b' },
        ],
      }),
      encodeBatch({
        baseOffset: 20n,
        lastOffsetDelta: 4,
        records: [{ offsetDelta: 1, value: 'c' }],
      }),
    );
    const r = parseRecordBatches(input(data));
    expect([...(r.records?.recordOffsets ?? [])]).toEqual([3n, 7n, 21n]);
    expect(values(r.records)).toEqual(['a', 'b', 'c']);
    expect(r.nextOffset).toBe(25n);
    expect(r.records?.nextOffset).toBe(25n);
  });

  it('drops the records before the fetch offset of a batch fetched whole', () => {
    const data = encodeBatch({
      baseOffset: 100n,
      records: [0, 1, 2, 3].map((d) => ({ offsetDelta: d, value: `v${d}` })),
    });
    const r = parseRecordBatches(input(data, { fetchOffset: 102n }));
    expect(values(r.records)).toEqual(['v2', 'v3']);
    expect(r.records?.firstOffset).toBe(102n);
    const past = parseRecordBatches(input(data, { fetchOffset: 104n }));
    expect(past.records).toBeUndefined();
    expect(past.nextOffset).toBe(104n);
  });

  it('reads LogAppendTime batches with the batch max timestamp', () => {
    const data = encodeBatch({
      baseOffset: 0n,
      logAppendTime: true,
      baseTimestamp: 1000,
      maxTimestamp: 1700000000123,
      records: [
        { offsetDelta: 0, timestampDelta: 5, value: 'x' },
        { offsetDelta: 1, value: 'y' },
      ],
    });
    const r = parseRecordBatches(input(data)).records as ParsedRecords;
    expect([...r.timestamps]).toEqual([1700000000123, 1700000000123]);
    expect([...(r.timestampTypes ?? [])]).toEqual([1, 1]);
  });

  it('reads negative and multi-byte varint fields exactly', () => {
    expect(zigzag(-1)).toEqual([1]);
    expect(zigzag(300)).toEqual([0xd8, 0x04]);
    const big = 2 ** 40 + 3;
    const value = 'v'.repeat(200); // a two-byte length
    const data = encodeBatch({
      baseOffset: 2n ** 40n,
      baseTimestamp: 1700000000000,
      records: [
        { offsetDelta: 0, timestampDelta: -86_400_000, value },
        { offsetDelta: 70_000, timestampDelta: big, value: '' },
      ],
    });
    const r = parseRecordBatches(input(data)).records as ParsedRecords;
    expect([...r.recordOffsets]).toEqual([2n ** 40n, 2n ** 40n + 70_000n]);
    expect([...r.timestamps]).toEqual([1700000000000 - 86_400_000, 1700000000000 + big]);
    expect(values(r)).toEqual([value, '']);
    expect([...r.nulls]).toEqual([0, 0]);
  });

  it('carries record offsets across a 2^32 boundary', () => {
    const base = 2n ** 32n - 2n;
    const data = encodeBatch({
      baseOffset: base,
      records: [0, 1, 2, 3].map((d) => ({ offsetDelta: d, value: 'v' })),
    });
    const r = parseRecordBatches(input(data)).records as ParsedRecords;
    expect([...r.recordOffsets]).toEqual([base, base + 1n, base + 2n, base + 3n]);
  });

  it('keeps headers in order, repeated names and null values included', () => {
    const data = encodeBatch({
      baseOffset: 0n,
      records: [
        {
          offsetDelta: 0,
          value: 'x',
          headers: [
            { key: 'a', value: '1' },
            { key: 'b', value: null },
            { key: 'a', value: '2' },
            { key: 'é', value: '' },
          ],
        },
      ],
    });
    const h = parseRecordBatches(input(data, { keepHeaders: true })).records?.headers?.[0];
    expect(h?.map((x) => [x.key, x.value === null ? null : text.decode(x.value)])).toEqual([
      ['a', '1'],
      ['b', null],
      ['a', '2'],
      ['é', ''],
    ]);
  });

  it('rejects records that overrun their batch as bad framing (not retryable)', () => {
    const good = encodeBatch({ baseOffset: 7n, records: [{ offsetDelta: 0, value: 'abc' }] });
    const lying = good.slice();
    const v = new DataView(lying.buffer);
    v.setInt32(57, 2); // claims 2 records
    v.setUint32(17, crc32c(lying, 21, lying.length));
    expect(() => parseRecordBatches(input(lying))).toThrow(
      /^record batch at orders\/3 offset 7: bad framing: record 1 of 2 overruns the batch$/,
    );
    const old = good.slice();
    old[16] = 1;
    expect(() => parseRecordBatches(input(old))).toThrow(/offset 7: magic 1 is not supported/);
  });
});

describe('parseRecordBatches: codecs', () => {
  const records = Array.from({ length: 50 }, (_, i) => ({
    offsetDelta: i,
    timestampDelta: i,
    key: i % 7 === 0 ? null : `key-${i}`,
    value: i % 11 === 0 ? null : JSON.stringify({ id: i, name: `name ${i}`.repeat(i % 5) }),
    headers: [{ key: 'n', value: String(i) }],
  }));
  const plain: TestBatch = { baseOffset: 1000n, baseTimestamp: 1700000000000, records };
  const expected = parseRecordBatches(
    input(encodeBatch(plain), { keepKeys: true, keepHeaders: true }),
  );

  /** Snappy in the xerial stream framing the Java client writes, with two blocks. */
  const xerial = (b: Uint8Array): Uint8Array => {
    const half = b.length >> 1;
    const blocks = [snappy.compress(b.subarray(0, half)), snappy.compress(b.subarray(half))];
    const head = Uint8Array.from([
      0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1,
    ]);
    const framed = blocks.map((x) => {
      const len = new Uint8Array(4);
      new DataView(len.buffer).setInt32(0, x.length);
      return concatBytes(len, x);
    });
    return concatBytes(head, ...framed);
  };
  const cases: [string, number, (b: Uint8Array) => Uint8Array][] = [
    ['gzip', 1, gzip],
    ['snappy (raw block)', 2, (b) => snappy.compress(b)],
    ['snappy (xerial framing)', 2, xerial],
    ['lz4 (frame)', 3, (b) => lz4.compressFrameSync(Buffer.from(b))],
    ['zstd (raw block frame)', 4, zstdRaw],
  ];
  for (const [name, codec, compress] of cases) {
    it(`decompresses ${name} to the same records`, () => {
      const data = encodeBatch({ ...plain, codec, compress });
      const r = parseRecordBatches(input(data, { keepKeys: true, keepHeaders: true }));
      expect(r).toEqual(expected);
      expect(r.records?.count).toBe(50);
    });
  }

  // The coordinator hands a fetch's shared memory back to its slab pool once the parse has
  // returned, and the next fetch overwrites it: nothing parsed may still point into it.
  for (const [name, codec, compress] of [
    ['uncompressed', 0, (b: Uint8Array) => b] as const,
    ...cases,
  ]) {
    it(`keeps nothing of the fetched bytes (${name}): values, keys and headers survive the slab being overwritten`, () => {
      const data = encodeBatch(codec === 0 ? plain : { ...plain, codec, compress });
      const slabs = new SharedSlabs(1 << 20);
      const view = slabs.take(data.length);
      view.set(data);
      const r = parseRecordBatches({
        ...input(view),
        data: view,
        keepKeys: true,
        keepHeaders: true,
      });
      slabs.give(view);
      const again = slabs.take(data.length);
      expect(again.buffer).toBe(view.buffer);
      new Uint8Array(again.buffer).fill(0xff);
      expect(r).toEqual(expected);
    });
  }

  it('reports a batch its codec cannot read (CRC right) as not retryable', () => {
    const data = encodeBatch({ ...plain, codec: 1, compress: (b) => b });
    expect(() => parseRecordBatches(input(data))).toThrow(
      expect.objectContaining({
        retryable: false,
        message: expect.stringMatching(
          /^record batch at orders\/3 offset 1000: gzip decompression failed: /,
        ),
      }),
    );
    const unknown = encodeBatch({ ...plain, codec: 5 });
    expect(() => parseRecordBatches(input(unknown))).toThrow(
      /codec 5 decompression failed: unknown compression codec 5/,
    );
  });
});

describe('parseRecordBatches: transactions', () => {
  const P = 4000n;
  const Q = 4001n;
  const txn = (base: bigint, producerId: bigint, vs: string[]) =>
    encodeBatch({
      baseOffset: base,
      transactional: true,
      producerId,
      records: vs.map((value, d) => ({ offsetDelta: d, value })),
    });
  const plainBatch = (base: bigint, vs: string[]) =>
    encodeBatch({
      baseOffset: base,
      producerId: 77n,
      records: vs.map((value, d) => ({ offsetDelta: d, value })),
    });
  // P aborts its first transaction, Q commits one interleaved with it, a non-transactional
  // producer writes in between, then P commits a second transaction.
  const log = concatBytes(
    txn(0n, P, ['p-abort-1', 'p-abort-2']), // 0-1
    txn(2n, Q, ['q-commit-1']), // 2
    plainBatch(3n, ['plain-1']), // 3
    txn(4n, P, ['p-abort-3']), // 4
    marker(5n, P, false), // 5: ABORT P
    txn(6n, Q, ['q-commit-2']), // 6
    marker(7n, Q, true), // 7: COMMIT Q
    txn(8n, P, ['p-commit-1']), // 8
    marker(9n, P, true), // 9: COMMIT P
  );
  const abortedList = [{ producerId: P, firstOffset: 0n }];

  it('read_committed drops the aborted transaction and skips markers, keeping the rest in order', () => {
    const r = parseRecordBatches(input(log, { abortedTransactions: abortedList }));
    expect(values(r.records)).toEqual(['q-commit-1', 'plain-1', 'q-commit-2', 'p-commit-1']);
    expect([...(r.records?.recordOffsets ?? [])]).toEqual([2n, 3n, 6n, 8n]);
    expect(r).toMatchObject({ nextOffset: 10n, batches: 9, controlBatches: 3, abortedRecords: 3 });
  });

  it('read_uncommitted keeps every data record and still skips markers', () => {
    const r = parseRecordBatches(
      input(log, { isolation: 'read_uncommitted', abortedTransactions: abortedList }),
    );
    expect(values(r.records)).toEqual([
      'p-abort-1',
      'p-abort-2',
      'q-commit-1',
      'plain-1',
      'p-abort-3',
      'q-commit-2',
      'p-commit-1',
    ]);
    expect(r).toMatchObject({ controlBatches: 3, abortedRecords: 0 });
  });

  it('an aborted transaction starting past this fetch does not touch earlier batches of its producer', () => {
    const later = [{ producerId: P, firstOffset: 8n }];
    const r = parseRecordBatches(input(log, { abortedTransactions: later }));
    expect(values(r.records)).toEqual([
      'p-abort-1',
      'p-abort-2',
      'q-commit-1',
      'plain-1',
      'p-abort-3',
      'q-commit-2',
    ]);
  });

  it('with no aborted list, read_committed keeps all data records (the broker lists every abort)', () => {
    const r = parseRecordBatches(input(log));
    expect(r.records?.count).toBe(7);
    expect(r.controlBatches).toBe(3);
  });

  it('a fetch ending inside an aborted transaction drops what it has of it', () => {
    const cut = concatBytes(txn(0n, P, ['p-abort-1', 'p-abort-2']), plainBatch(2n, ['plain-1']));
    const r = parseRecordBatches(input(cut, { abortedTransactions: abortedList }));
    expect(values(r.records)).toEqual(['plain-1']);
    expect(r.nextOffset).toBe(3n);
  });
});

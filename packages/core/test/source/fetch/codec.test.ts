import { describe, expect, it } from 'vitest';
import { parseRecordBatches } from '../../../src/source/batches/parse.ts';
import { encodeFetchRequest } from '../../../src/source/fetch/request.ts';
import { decodeFetchResponse, FetchDecodeError } from '../../../src/source/fetch/response.ts';
import { concatBytes, encodeBatch, marker } from '../batches/encode.ts';

/** A tiny big-endian writer for hand-built response bodies. */
class W {
  private readonly parts: Buffer[] = [];
  i8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    return this.push(b);
  }
  i16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.push(b);
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.push(b);
  }
  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    return this.push(b);
  }
  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.i16(b.length).push(b);
  }
  bytes(b: Uint8Array | null): this {
    if (b === null) return this.i32(-1);
    return this.i32(b.length).push(Buffer.from(b));
  }
  push(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

interface P {
  partition: number;
  errorCode?: number;
  hw?: bigint;
  lso?: bigint;
  logStart?: bigint;
  aborted?: { producerId: bigint; firstOffset: bigint }[] | null;
  records: Uint8Array | null;
}

function body(topics: { topic: string; partitions: P[] }[]): Buffer {
  const w = new W().i32(0).i16(0).i32(0).i32(topics.length);
  for (const t of topics) {
    w.str(t.topic).i32(t.partitions.length);
    for (const p of t.partitions) {
      w.i32(p.partition)
        .i16(p.errorCode ?? 0)
        .i64(p.hw ?? 100n)
        .i64(p.lso ?? 100n)
        .i64(p.logStart ?? 0n);
      if (p.aborted === null || p.aborted === undefined) w.i32(p.aborted === null ? -1 : 0);
      else {
        w.i32(p.aborted.length);
        for (const a of p.aborted) w.i64(a.producerId).i64(a.firstOffset);
      }
      w.i32(-1).bytes(p.records);
    }
  }
  return w.done();
}

const rec = (offsetDelta: number, value: string) => ({ offsetDelta, value });
const b10 = encodeBatch({ baseOffset: 10n, records: [rec(0, 'a'), rec(1, 'b'), rec(2, 'c')] });
const b13 = encodeBatch({ baseOffset: 13n, records: [rec(0, 'd'), rec(4, 'e')] });
const b18 = encodeBatch({ baseOffset: 18n, records: [rec(0, 'f')] });

describe('encodeFetchRequest (Fetch v11)', () => {
  it('writes every field in protocol order', () => {
    const got = encodeFetchRequest({
      maxWaitTimeMs: 500,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolation: 'read_committed',
      topics: [
        {
          topic: 'tö',
          partitions: [
            { partition: 3, currentLeaderEpoch: 7, fetchOffset: 42n, partitionMaxBytes: 4096 },
          ],
        },
      ],
    });
    const want = new W()
      .i32(-1)
      .i32(500)
      .i32(1)
      .i32(1 << 20)
      .i8(1)
      .i32(0)
      .i32(-1)
      .i32(1)
      .str('tö')
      .i32(1)
      .i32(3)
      .i32(7)
      .i64(42n)
      .i64(-1n)
      .i32(4096)
      .i32(0)
      .i16(0)
      .done();
    expect(got.toString('hex')).toBe(want.toString('hex'));
    const uncommitted = encodeFetchRequest({
      maxWaitTimeMs: 0,
      minBytes: 1,
      maxBytes: 1,
      isolation: 'read_uncommitted',
      topics: [],
    });
    expect(uncommitted[16]).toBe(0);
    expect(uncommitted.length).toBe(4 * 4 + 1 + 4 * 4 + 2);
  });
});

describe('decodeFetchResponse (Fetch v11)', () => {
  it('keeps whole batches only, per partition of two topics, with an error partition', () => {
    const cut = encodeBatch({ baseOffset: 20n, records: [rec(0, 'g'), rec(1, 'h')] });
    const aborted = [{ producerId: 9n, firstOffset: 11n }];
    const res = decodeFetchResponse(
      body([
        {
          topic: 'one',
          partitions: [
            {
              partition: 0,
              hw: 30n,
              lso: 25n,
              logStart: 5n,
              aborted,
              records: concatBytes(b10, b13, b18, cut.subarray(0, cut.length - 3)),
            },
            { partition: 1, errorCode: 6, hw: -1n, lso: -1n, logStart: -1n, records: null },
          ],
        },
        {
          topic: 'two',
          partitions: [
            // Only 11 bytes of the next batch: not even its length field.
            { partition: 4, aborted: null, records: concatBytes(b13, cut.subarray(0, 11)) },
          ],
        },
      ]),
    );
    expect(res.topics.map((t) => t.topic)).toEqual(['one', 'two']);
    const [p0, p1] = res.topics[0]?.partitions ?? [];
    expect(p0).toMatchObject({
      partition: 0,
      errorCode: 0,
      highWatermark: 30n,
      lastStableOffset: 25n,
      logStartOffset: 5n,
      abortedTransactions: aborted,
      preferredReadReplica: -1,
      batches: 3,
      nextOffset: 19n,
      truncatedBytes: cut.length - 3,
    });
    expect(p0?.data.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(p0?.data ?? []).equals(Buffer.from(concatBytes(b10, b13, b18)))).toBe(true);
    const parsed = parseRecordBatches({
      topic: 'one',
      partition: 0,
      data: p0?.data ?? new Uint8Array(),
      fetchOffset: 11n,
      isolation: 'read_uncommitted',
    });
    expect(parsed.nextOffset).toBe(19n);
    expect([...(parsed.records?.recordOffsets ?? [])]).toEqual([11n, 12n, 13n, 17n, 18n]);
    expect(p1).toMatchObject({
      partition: 1,
      errorCode: 6,
      highWatermark: -1n,
      batches: 0,
      nextOffset: undefined,
      truncatedBytes: 0,
    });
    expect(p1?.data.length).toBe(0);
    expect(res.topics[1]?.partitions[0]).toMatchObject({
      partition: 4,
      abortedTransactions: [],
      batches: 1,
      nextOffset: 18n,
      truncatedBytes: 11,
    });
  });

  it('keeps nothing of a partition whose only batch is cut short, and counts its bytes', () => {
    const res = decodeFetchResponse(
      body([{ topic: 't', partitions: [{ partition: 0, records: b10.subarray(0, 40) }] }]),
    );
    expect(res.topics[0]?.partitions[0]).toMatchObject({
      batches: 0,
      nextOffset: undefined,
      truncatedBytes: 40,
    });
  });

  it('counts control batches (markers) as batches: the position moves past them', () => {
    const res = decodeFetchResponse(
      body([{ topic: 't', partitions: [{ partition: 0, records: marker(50n, 3n, true) }] }]),
    );
    expect(res.topics[0]?.partitions[0]).toMatchObject({ batches: 1, nextOffset: 51n });
  });

  it('fails on a batch of magic 1, naming partition, offset and the format', () => {
    const old = Buffer.from(b13);
    old[16] = 1;
    const bytes = body([
      { topic: 'legacy', partitions: [{ partition: 2, records: concatBytes(b10, old) }] },
    ]);
    expect(() => decodeFetchResponse(bytes)).toThrow(FetchDecodeError);
    expect(() => decodeFetchResponse(bytes)).toThrow(
      'record batch at legacy/2 offset 13 has magic 1: kice reads only record batches of magic 2',
    );
  });

  it('fails on a batch length too small for a batch header, and on a response cut short', () => {
    const bad = Buffer.from(b10);
    bad.writeInt32BE(20, 8);
    expect(() =>
      decodeFetchResponse(body([{ topic: 't', partitions: [{ partition: 0, records: bad }] }])),
    ).toThrow('record batch at t/0 offset 10 has batchLength 20 (at least 49)');
    const whole = body([{ topic: 't', partitions: [{ partition: 0, records: b10 }] }]);
    expect(() => decodeFetchResponse(whole.subarray(0, whole.length - 5))).toThrow(
      /Fetch response ends inside records/,
    );
  });
});

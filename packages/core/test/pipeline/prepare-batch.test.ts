import { describe, expect, it } from 'vitest';
import { metaSpecOf, prepareBatch } from '../../src/pipeline/prepare-batch.ts';
import { makeBatch } from './harness.ts';

const text = (b: Uint8Array, o: Int32Array, i: number) =>
  new TextDecoder().decode(b.subarray(o[i] as number, o[i + 1] as number));

describe('prepareBatch', () => {
  it('keeps a batch already in shared memory as it is', () => {
    const batch = makeBatch({ topic: 't', partition: 0 }, 0n, ['{"a":1}', '{"a":2}']);
    const p = prepareBatch(batch, 100);
    expect(p.bytes).toBe(batch.bytes);
    expect(p.oversized.size).toBe(0);
  });

  it('copies a batch outside shared memory into it', () => {
    const batch = { ...makeBatch({ topic: 't', partition: 0 }, 0n, ['{"a":1}']) };
    const plain = new Uint8Array(batch.bytes);
    const p = prepareBatch({ ...batch, bytes: plain }, 100);
    expect(p.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(text(p.bytes, p.offsets, 0)).toBe('{"a":1}');
  });

  it('leaves oversized values out for the decoder, keeps them for dead letters', () => {
    const big = JSON.stringify({ s: 'x'.repeat(50) });
    const batch = makeBatch({ topic: 't', partition: 0 }, 0n, ['{"a":1}', big, '{"a":3}']);
    const p = prepareBatch(batch, 20);
    expect([...p.oversized]).toEqual([[1, big.length]]);
    expect([0, 1, 2].map((i) => text(p.bytes, p.offsets, i))).toEqual(['{"a":1}', '', '{"a":3}']);
    expect(text(p.raw.bytes, p.raw.offsets, 1)).toBe(big);
    expect(p.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});

describe('prepareBatch metadata', () => {
  const keys = {
    bytes: new Uint8Array([107]),
    offsets: Int32Array.from([0, 1]),
    nulls: new Uint8Array(1),
  };
  const headers = [[{ key: 'h', value: new Uint8Array([1]) }]];
  const batch = {
    ...makeBatch({ topic: 't', partition: 4 }, 7n, ['{"a":1}']),
    keys,
    headers,
    timestampTypes: new Uint8Array([1]),
  };

  it('carries nothing for a table without metadata or key columns', () => {
    expect(prepareBatch(batch, 100).metadata).toBeUndefined();
    expect(
      prepareBatch(batch, 100, metaSpecOf({ key: { format: 'none', column: '_key' } })),
    ).not.toHaveProperty('metadata');
  });

  it('carries only what the table asks for', () => {
    const key = prepareBatch(batch, 100, metaSpecOf({ key: { format: 'string', column: 'k' } }));
    expect(key.metadata?.spec).toEqual({ key: { column: 'k', format: 'string' } });
    expect(key.metadata?.records.keys).toBe(keys);
    expect(key.metadata?.records.headers).toBeUndefined();
    expect(key.metadata?.records.timestampTypes).toBeUndefined();
    const meta = prepareBatch(
      batch,
      100,
      metaSpecOf({ metadata: { column: '_kafka' }, key: { format: 'none', column: '_key' } }),
    );
    expect(meta.metadata?.spec).toEqual({ kafka: '_kafka' });
    expect(meta.metadata?.records).toMatchObject({ topic: 't', partition: 4, headers });
    expect(meta.metadata?.records.recordOffsets).toEqual(BigInt64Array.from([7n]));
    expect(meta.metadata?.records.keys).toBeUndefined();
  });
});

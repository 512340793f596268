import { describe, expect, it } from 'vitest';
import {
  chunkRecords,
  fitRecord,
  recordSize,
  requestBudget,
} from '../../src/pipeline/dead-letter-chunks.ts';
import type { DeadLetterRecord } from '../../src/source/producer.ts';

/** Headers of a dead letter from topic "t", partition 0, offset 5: 112 bytes counted. */
const HEADERS = {
  'kice.source.topic': 't',
  'kice.source.partition': '0',
  'kice.source.offset': '5',
  'kice.error': 'bad',
};

function dead(valueBytes: number, fill = 'a', headers = HEADERS): DeadLetterRecord {
  return { topic: 'dlq', value: new TextEncoder().encode(fill.repeat(valueBytes)), headers };
}

describe('requestBudget', () => {
  it('keeps 61 bytes of batch framing and a margin of 1/32 (at least 1 KiB) free', () => {
    // The broker's default max.message.bytes: 1048588 - 61 - ceil(1048588 / 32).
    expect(requestBudget(1_048_588)).toBe(1_015_758);
    expect(requestBudget(1_000_000)).toBe(968_689);
    expect(requestBudget(100_000)).toBe(96_814);
    expect(requestBudget(10_000)).toBe(8_915);
    expect(requestBudget(4_096)).toBe(3_011);
  });
});

describe('recordSize', () => {
  it('counts 40 bytes per record, 10 per header, and key, value and header bytes', () => {
    expect(recordSize(dead(0))).toBe(152);
    expect(recordSize(dead(348))).toBe(500);
    expect(recordSize({ topic: 'dlq', value: null, headers: {} })).toBe(40);
    expect(
      recordSize({
        topic: 'dlq',
        key: new Uint8Array(7),
        value: new Uint8Array(3),
        headers: { é: 'ü' },
      }),
    ).toBe(40 + 7 + 3 + 10 + 2 + 2);
  });
});

describe('chunkRecords', () => {
  it('fills a request up to exactly the budget', () => {
    const records = [0, 1, 2, 3, 4].map(() => dead(348)); // 500 bytes each
    expect(chunkRecords(records, 1000).map((c) => c.length)).toEqual([2, 2, 1]);
    expect(chunkRecords(records, 999).map((c) => c.length)).toEqual([1, 1, 1, 1, 1]);
    expect(chunkRecords(records, 2500).map((c) => c.length)).toEqual([5]);
    expect(chunkRecords(records, 2499).map((c) => c.length)).toEqual([4, 1]);
  });

  it('keeps the order and gives a record over the budget a request of its own', () => {
    const records = [dead(48), dead(848), dead(48), dead(48)]; // 200, 1000, 200, 200
    const chunks = chunkRecords(records, 500);
    expect(chunks.map((c) => c.map((r) => r.value?.byteLength))).toEqual([[48], [848], [48, 48]]);
    expect(chunkRecords([], 500)).toEqual([]);
  });

  it('splits 5,000 dead letters of 460 bytes under the default limit in 3 requests', () => {
    const records = Array.from({ length: 5_000 }, () => dead(460 - 152));
    const budget = requestBudget(1_048_588);
    const chunks = chunkRecords(records, budget);
    // floor(1015758 / 460) = 2208 per request.
    expect(chunks.map((c) => c.length)).toEqual([2208, 2208, 584]);
  });
});

describe('fitRecord', () => {
  it('returns a record that fits unchanged', () => {
    const r = dead(848); // 1000 bytes
    expect(fitRecord(r, 1000)).toBe(r);
  });

  it('cuts the value to what fits and adds the original size and sha256', () => {
    const r = dead(2000);
    const f = fitRecord(r, 1000);
    expect(f.headers).toEqual({
      ...HEADERS,
      'kice.original.size': '2000',
      'kice.original.sha256': 'c4a700f85b7e9e5cdbdc51170409ee2ad48bebe2f2f0957a067937531a0a3c42',
    });
    // 1000 - 40 - (112 + 32 + 94) header bytes = 722.
    expect(f.value?.byteLength).toBe(722);
    expect(Buffer.from(f.value ?? []).toString()).toBe('a'.repeat(722));
    expect(recordSize(f)).toBe(1000);
  });

  it('keeps the original headers when a cut record is cut again', () => {
    const once = fitRecord(dead(2000), 1000);
    const twice = fitRecord(once, 800);
    expect(twice.headers).toEqual(once.headers);
    expect(twice.value?.byteLength).toBe(522);
    expect(recordSize(twice)).toBe(800);
  });

  it('cuts kice.error at a character boundary when the headers alone do not fit', () => {
    const r = dead(10, 'x', { ...HEADERS, 'kice.error': 'é'.repeat(1000) });
    const f = fitRecord(r, 1024);
    expect(f.headers['kice.original.size']).toBe('10');
    expect(f.headers['kice.original.sha256']).toBe(
      'fc11d6f28e59d3cc33c0b14ceb644bf0902ebd63d61218dffe9e7dac7c254542',
    );
    // 751 bytes would fit; the last whole character ends at 750.
    expect(f.headers['kice.error']).toBe('é'.repeat(375));
    expect(f.value?.byteLength).toBe(1);
    expect(recordSize(f)).toBe(1024);
  });
});

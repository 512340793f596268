/**
 * The cold scan's `decoder` hook (src/scan/row-group-decoder.ts): row groups decoded from
 * the bytes the scan read for them alone give the rows the in-thread path gives (also with
 * late materialization), the files read at once hand their decodes over at once, and a
 * decode asked to read bytes it was not given fails naming them.
 */
import { describe, expect, test } from 'vitest';
import { coldScan, collectTable } from '../../src/scan/cold-scan.ts';
import { eq, gtEq } from '../../src/scan/expressions.ts';
import { arrowTableToRows } from '../../src/scan/read-parquet.ts';
import {
  decodeRowGroup,
  type RowGroupDecoder,
  type RowGroupRequest,
} from '../../src/scan/row-group-decoder.ts';
import type { DataFile } from '../../src/spec/manifest.ts';
import { append, ID_CAT_PAD, tableOf } from './cold-scan-support.ts';

const schema = ID_CAT_PAD;
const rows = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: BigInt(from + i),
    cat: `c${(from + i) % 3}`,
    pad: `p${((from + i) * 7919) % 10007}-${'z'.repeat((from + i) % 50)}`,
  }));

/** Three files of 2,000 rows in row groups of 500. */
const setup = (async () => {
  const { io, table: empty } = await tableOf(schema);
  let table = empty;
  const files: DataFile[] = [];
  for (let f = 0; f < 3; f++) {
    const r = await append(table, rows(f * 2000, 2000), 500);
    table = r.table;
    files.push(...r.files);
  }
  return { io, table, files };
})();

/** decodeRowGroup, recording each request and the most requests outstanding at once. */
function recording(delayMs = 0) {
  const requests: RowGroupRequest[] = [];
  let outstanding = 0;
  let most = 0;
  const decoder: RowGroupDecoder = async (req) => {
    requests.push(req);
    outstanding++;
    most = Math.max(most, outstanding);
    try {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      return await decodeRowGroup(req);
    } finally {
      outstanding--;
    }
  };
  return { decoder, requests, most: () => most };
}

async function read(options: Parameters<typeof coldScan>[1]) {
  const { table } = await setup;
  const scan = await coldScan(table, options);
  return {
    rows: arrowTableToRows(scan.schema, await collectTable(scan.arrowSchema, scan.batches())),
    stats: scan.stats,
  };
}

describe('coldScan with a decoder', () => {
  test('a full scan gives every row in plan order, one request per row group', async () => {
    const rec = recording();
    const viaDecoder = await read({ decoder: rec.decoder, concurrency: 1 });
    const inThread = await read({ concurrency: 1 });
    expect(viaDecoder.rows).toEqual(inThread.rows);
    expect(viaDecoder.rows.length).toBe(6000);
    expect(rec.requests.length).toBe(12);
    expect(rec.requests.map((r) => r.rowGroup)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    expect(rec.requests.every((r) => r.columns.join() === 'id,cat,pad')).toBe(true);
  });

  test('late materialization: the filter column first, the rest only where it matched', async () => {
    const rec = recording();
    const want = rows(2345, 1)[0] as { pad: string; id: bigint; cat: string };
    const filter = eq('pad', want.pad);
    const viaDecoder = await read({ decoder: rec.decoder, filter, select: ['id', 'cat'] });
    expect(viaDecoder.rows).toEqual([{ id: want.id, cat: want.cat }]);
    expect(viaDecoder.rows).toEqual((await read({ filter, select: ['id', 'cat'] })).rows);
    // 12 row groups' pad chunks, then id and cat of the one that matched (file 1, group 0).
    const second = rec.requests.filter((r) => r.columns.join() !== 'pad');
    expect(second.map((r) => [r.rowGroup, r.columns.join()])).toEqual([[0, 'id,cat']]);
    expect(rec.requests.length).toBe(13);
    expect(viaDecoder.stats).toMatchObject({ rowGroupsRead: 12, rowGroupsLateSkipped: 11 });
  });

  test('the files read at once hand their row groups to the decoder at once', async () => {
    const rec = recording(20);
    const r = await read({ decoder: rec.decoder, filter: gtEq('id', 0), concurrency: 3 });
    // In plan order, as the in-thread path gives them.
    expect(r.rows).toEqual((await read({ filter: gtEq('id', 0), concurrency: 3 })).rows);
    expect(r.rows.length).toBe(6000);
    expect(rec.most()).toBe(3);
    const one = recording(20);
    await read({ decoder: one.decoder, concurrency: 1 });
    expect(one.most()).toBe(1);
  });

  test('a decode that needs bytes it was not given fails, naming them', async () => {
    const rec = recording();
    await read({ decoder: rec.decoder, select: ['cat'], limit: 1, concurrency: 1 });
    const req = rec.requests[0] as RowGroupRequest;
    // Only the file's last 8 bytes (footer length and magic): the footer itself is missing.
    const tail = req.ranges.find((r) => r.start + r.bytes.length === req.size);
    if (!tail) throw new Error('no range ends at the end of the file');
    const withoutChunk = {
      ...req,
      ranges: [{ start: req.size - 8, bytes: tail.bytes.subarray(tail.bytes.length - 8) }],
    };
    await expect(decodeRowGroup(withoutChunk)).rejects.toThrow(
      /the Parquet reader asked for bytes \d+\.\.\d+ of \d+, which were not read for it/,
    );
    // parquet-wasm panics (and never settles) on a read that rejects: the failed read
    // answered zeros instead, and the module still decodes the full request.
    expect((await decodeRowGroup(req)).byteLength).toBeGreaterThan(0);
  });
});

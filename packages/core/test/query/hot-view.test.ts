import { bind, FIELD_ID_KEY, gtEq, type Schema } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { BufferedBatch } from '../../src/pipeline/table-buffer.ts';
import { hotBatches, selectHot } from '../../src/query/hot-view.ts';

const owned = [
  { topic: 't', partition: 0, start: 0n },
  { topic: 't', partition: 1, start: 0n },
];

function batch(
  partition: number,
  from: bigint,
  to: bigint,
  rows = Number(to - from),
): BufferedBatch {
  const rowOffsets = new BigInt64Array(rows);
  for (let i = 0; i < rows; i++) rowOffsets[i] = from + BigInt(i);
  return { topic: 't', partition, from, to, ipc: new Uint8Array(1), rows, rowOffsets };
}

describe('selectHot', () => {
  it("takes the rows at or past the snapshot's offset, per partition", () => {
    const a = batch(0, 0n, 4n);
    const b = batch(0, 4n, 8n);
    const c = batch(1, 0n, 3n);
    const other = { ...batch(2, 0n, 2n), partition: 2 };
    const r = selectHot([a, c, b, other], owned, new Map([['t:0', 6n]]));
    // a is in the snapshot; b from its third row (offset 6); c whole (no offset recorded).
    expect(r.slices).toEqual([
      { batch: c, firstRow: 0 },
      { batch: b, firstRow: 2 },
    ]);
    expect(r.partitions).toEqual([
      { topic: 't', partition: 0, fromOffset: 6n },
      { topic: 't', partition: 1, fromOffset: 0n },
    ]);
  });

  it('refuses a hole between the snapshot and the captured rows', () => {
    expect(() => selectHot([batch(0, 5n, 8n)], owned, new Map([['t:0', 3n]]))).toThrow(
      "query: t:0 hot rows start at 5, past the snapshot's offset 3",
    );
  });

  it('names a partition without captured rows from its offset, or where its owner started', () => {
    const r = selectHot([], [{ topic: 't', partition: 0, start: 9n }], new Map());
    expect(r.partitions).toEqual([{ topic: 't', partition: 0, fromOffset: 9n }]);
  });
});

describe('hotBatches', () => {
  it("matches columns to the table by name (the decoders' field IDs are provisional), filters and projects", () => {
    // The batch calls "b" field 2 (provisional); the table gave "b" id 3 and id 2 to "c".
    const meta = (id: number) => new Map([[FIELD_ID_KEY, String(id)]]);
    const fields = [
      new arrow.Field('a', new arrow.Int64(), true, meta(1)),
      new arrow.Field('b', new arrow.Utf8(), true, meta(2)),
    ];
    const t = new arrow.Table(new arrow.Schema(fields), {
      a: arrow.vectorFromArray([1n, 2n, 3n], new arrow.Int64()),
      b: arrow.vectorFromArray(['x', 'y', 'z'], new arrow.Utf8()),
    });
    const ipc = arrow.tableToIPC(t, 'stream');
    const table: Schema = {
      type: 'struct',
      schemaId: 1,
      fields: [
        { id: 1, name: 'a', required: false, type: 'long' },
        { id: 2, name: 'c', required: false, type: 'string' },
        { id: 3, name: 'b', required: false, type: 'string' },
      ],
    };
    const b: BufferedBatch = { ...batch(0, 0n, 3n), ipc };
    const out = [
      ...hotBatches([{ batch: b, firstRow: 1 }], table, table, bind(table, gtEq('a', 1n))),
    ];
    const rows = out.flatMap((rb) => rb.toArray().map((r) => r.toJSON()));
    expect(rows).toEqual([
      { a: 2n, c: null, b: 'y' },
      { a: 3n, c: null, b: 'z' },
    ]);
    const limited = [...hotBatches([{ batch: b, firstRow: 0 }], table, table, undefined, 1)];
    expect(limited.reduce((n, rb) => n + rb.numRows, 0)).toBe(1);
  });
});

import type { StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeJsonBatch } from '../../src/decode/json-decoder.ts';
import { column, pack } from './helpers.ts';

const longCol: StructType = {
  type: 'struct',
  fields: [{ id: 1, name: 'x', required: false, type: 'long' }],
};

function run(values: string[], schema: StructType, relaxedFieldIds?: number[]) {
  const { bytes, offsets } = pack(values);
  const r = decodeJsonBatch({
    bytes,
    offsets,
    schema,
    ...(relaxedFieldIds ? { relaxedFieldIds } : {}),
  });
  return { ...r, table: arrow.tableFromIPC(r.ipc) };
}

describe('long → double before the first commit', () => {
  it('widens a column created in this batch when a fraction follows whole numbers', () => {
    const r = run(['{"x": 3}', '{"x": 1.5}', '{"x": -2}'], { type: 'struct', fields: [] });
    expect(r.errors).toEqual([]);
    expect(r.schema.fields.map((f) => [f.name, f.type])).toEqual([['x', 'double']]);
    expect(column(r.table, 'x')).toEqual([3, 1.5, -2]);
  });

  it('widens an uncommitted existing column named in relaxedFieldIds', () => {
    const r = run(['{"x": 1.25}'], longCol, [1]);
    expect(r.errors).toEqual([]);
    expect(r.schema.fields[0]?.type).toBe('double');
    expect(column(r.table, 'x')).toEqual([1.25]);
  });

  it('rejects the fraction for a committed long column', () => {
    const r = run(['{"x": 4}', '{"x": 1.5}'], longCol);
    expect(r.errors).toEqual([{ index: 1, reason: 'field "x": 1.5 does not fit long' }]);
    expect(r.schema.fields[0]?.type).toBe('long');
    expect(column(r.table, 'x')).toEqual([4n]);
  });
});

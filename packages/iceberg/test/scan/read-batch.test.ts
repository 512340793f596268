import * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { FIELD_ID_KEY } from '../../src/arrow/schema.ts';
import { bind, eq, gt } from '../../src/scan/expressions.ts';
import { toReadBatch } from '../../src/scan/read-batch.ts';
import { arrowTableToRows } from '../../src/scan/read-parquet.ts';
import { evalBatch } from '../../src/scan/vector-filter.ts';
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';

const schema: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [{ id: 1, name: 's', required: false, type: 'string' }],
});

/** A string column as files written through pyarrow decode: 64-bit offsets (LargeUtf8). */
function largeStrings() {
  const s = arrow.vectorFromArray(['b', null, 'é', 'a'], new arrow.LargeUtf8())
    .data[0] as arrow.Data;
  return {
    length: 4,
    fields: [new arrow.Field('s', new arrow.LargeUtf8(), true, new Map([[FIELD_ID_KEY, '1']]))],
    children: [s],
  };
}

describe('LargeUtf8 columns', () => {
  test('convert to the read schema (Utf8) by value, not by relabelling the buffers', () => {
    const batch = toReadBatch(largeStrings(), schema);
    expect(String(batch.schema.fields[0]?.type)).toBe('Utf8');
    expect(String(batch.data.children[0]?.type)).toBe('Utf8');
    expect(batch.data.children[0]?.valueOffsets).toBeInstanceOf(Int32Array);
    // apache-arrow's own reading and an IPC round trip see the same strings.
    const viaIpc = arrow.tableFromIPC(arrow.tableToIPC(new arrow.Table([batch])));
    expect(viaIpc.getChild('s')?.toArray()).toEqual(['b', null, 'é', 'a']);
    expect(arrowTableToRows(schema, new arrow.Table([batch]))).toEqual([
      { s: 'b' },
      { s: null },
      { s: 'é' },
      { s: 'a' },
    ]);
  });

  test('filters evaluate on them', () => {
    expect([...evalBatch(bind(schema, gt('s', 'a')), largeStrings())]).toEqual([1, 0, 1, 0]);
    expect([...evalBatch(bind(schema, eq('s', 'é')), largeStrings())]).toEqual([0, 0, 1, 0]);
  });
});

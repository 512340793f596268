import type { StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { decodeRawBatch } from '../../src/decode/raw-decoder.ts';
import type { RecordMeta } from '../../src/decode/record-meta.ts';

const EMPTY: StructType = { type: 'struct', fields: [] };

/** Packs values (null: a tombstone) like the source does: bytes, offsets, nulls. */
function packValues(values: readonly (Uint8Array | null)[]) {
  const offsets = new Int32Array(values.length + 1);
  const nulls = new Uint8Array(values.length);
  let total = 0;
  values.forEach((v, i) => {
    if (v === null) nulls[i] = 1;
    total += v?.byteLength ?? 0;
    offsets[i + 1] = total;
  });
  const bytes = new Uint8Array(total);
  values.forEach((v, i) => {
    if (v) bytes.set(v, offsets[i] as number);
  });
  return { bytes, offsets, nulls };
}

function keysMeta(keys: readonly (string | null)[]): RecordMeta {
  const k = packValues(keys.map((x) => (x === null ? null : Buffer.from(x, 'utf8'))));
  return {
    topic: 't',
    partition: 0,
    recordOffsets: BigInt64Array.from(keys.map((_, i) => BigInt(i))),
    timestamps: Float64Array.from(keys.map(() => 1_700_000_000_000)),
    keys: k,
  };
}

const bytesOf = (t: arrow.Table, name: string) =>
  Array.from({ length: t.numRows }, (_, i) => {
    const v = t.getChild(name)?.get(i) as Uint8Array | null;
    return v === null ? null : Buffer.from(v).toString('hex');
  });

describe('decodeRawBatch', () => {
  const values = [
    Buffer.from('{"not": "parsed"'),
    Uint8Array.from([0xff, 0xfe, 0x00, 0xc3]), // not UTF-8
    new Uint8Array(0),
    null,
    Uint8Array.from([0]),
  ];

  test('every value exactly, empty as empty bytes, a tombstone as null; one new binary column', () => {
    const r = decodeRawBatch({ ...packValues(values), column: 'value', schema: EMPTY });
    expect(r.errors).toEqual([]);
    expect(r.rows).toBe(5);
    expect(r.changed).toBe(true);
    expect(r.schema).toEqual({
      type: 'struct',
      fields: [{ id: 1, name: 'value', required: false, type: 'binary' }],
    });
    const t = arrow.tableFromIPC(r.ipc);
    expect(bytesOf(t, 'value')).toEqual([
      Buffer.from('{"not": "parsed"').toString('hex'),
      'fffe00c3',
      '',
      null,
      '00',
    ]);
  });

  test('an existing column keeps its id; other value columns read null; oversized values are refused', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [
        { id: 4, name: 'old', required: false, type: 'long' },
        { id: 7, name: 'payload', required: false, type: 'binary' },
      ],
    };
    const r = decodeRawBatch({
      ...packValues(values),
      oversized: [1],
      column: 'payload',
      schema,
    });
    expect(r.changed).toBe(false);
    expect(r.schema).toEqual(schema);
    expect(r.errors).toEqual([{ index: 1, reason: 'value too large' }]);
    const t = arrow.tableFromIPC(r.ipc);
    expect(bytesOf(t, 'payload')).toEqual([
      Buffer.from('{"not": "parsed"').toString('hex'),
      '',
      null,
      '00',
    ]);
    expect(t.getChild('old')?.toArray().length).toBe(4);
    expect([...(t.getChild('old') as arrow.Vector)]).toEqual([null, null, null, null]);
  });

  test('a column of that name that is not binary fails the batch naming valueColumn', () => {
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 'value', required: false, type: 'string' }],
    };
    expect(() => decodeRawBatch({ ...packValues(values), column: 'value', schema })).toThrow(
      'the table has a column "value" that is not binary; set valueColumn to another name for format raw',
    );
  });

  test('with a json key column: a bad key dead-letters its record, the rest keep their keys', () => {
    const keys = ['{"id": 1}', 'nope', null, '{"id": 2}', '{"id": 3}'];
    const r = decodeRawBatch({
      ...packValues(values),
      column: 'value',
      schema: EMPTY,
      metadata: { spec: { key: { column: '_key', format: 'json' } }, records: keysMeta(keys) },
    });
    expect(r.errors).toEqual([
      { index: 1, reason: 'key: invalid JSON: Unexpected token \'o\', "nope" is not valid JSON' },
    ]);
    expect(r.rows).toBe(4);
    const t = arrow.tableFromIPC(r.ipc);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['value', '_key']);
    expect(bytesOf(t, 'value')).toEqual([
      Buffer.from('{"not": "parsed"').toString('hex'),
      '',
      null,
      '00',
    ]);
    const key = t.getChild('_key') as arrow.Vector;
    expect([...key].map((k) => (k === null ? null : Number(k.toJSON().id)))).toEqual([
      1,
      null,
      2,
      3,
    ]);
  });
});

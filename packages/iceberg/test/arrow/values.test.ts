import { readFileSync } from 'node:fs';
import * as arrow from 'apache-arrow';
import { describe, expect, test } from 'vitest';
import { icebergSchemaFromArrow } from '../../src/arrow/schema.ts';
import { arrowColumnToIceberg, arrowDataValue } from '../../src/arrow/values.ts';
import { arrowTableToRows, readParquet } from '../../src/scan/read-parquet.ts';
import { type IcebergType, schemaToJson } from '../../src/spec/types.ts';

const enc = new TextEncoder();
// apache-arrow's makeData overloads omit valueOffsets for the Large* types it does support.
const makeData = arrow.makeData as (props: object) => arrow.Data;

/** Arrow Data with 64-bit offsets, the layout pyarrow uses for large_string/large_binary. */
function largeBytes(type: arrow.LargeUtf8 | arrow.LargeBinary, parts: (Uint8Array | null)[]) {
  const valueOffsets = new BigInt64Array(parts.length + 1);
  const nullBitmap = new Uint8Array(1);
  let pos = 0;
  parts.forEach((p, i) => {
    if (p) {
      pos += p.length;
      nullBitmap[0] = (nullBitmap[0] ?? 0) | (1 << i);
    }
    valueOffsets[i + 1] = BigInt(pos);
  });
  const data = new Uint8Array(pos);
  let at = 0;
  for (const p of parts) {
    if (!p) continue;
    data.set(p, at);
    at += p.length;
  }
  const nullCount = parts.filter((p) => p === null).length;
  return makeData({ type, length: parts.length, nullCount, nullBitmap, valueOffsets, data });
}

describe('arrowDataValue with 64-bit offsets', () => {
  test('LargeUtf8 reads as strings', () => {
    const d = largeBytes(new arrow.LargeUtf8(), [enc.encode('héllo'), null, enc.encode('')]);
    expect([0, 1, 2].map((i) => arrowDataValue('string', d, i))).toEqual(['héllo', null, '']);
  });

  test('LargeBinary reads as byte copies', () => {
    const d = largeBytes(new arrow.LargeBinary(), [new Uint8Array([0, 1]), new Uint8Array(0)]);
    expect(arrowDataValue('binary', d, 0)).toEqual(new Uint8Array([0, 1]));
    expect(arrowDataValue('binary', d, 1)).toEqual(new Uint8Array(0));
  });

  test('LargeList reads as arrays, through an IPC round trip', () => {
    const child = arrow.vectorFromArray(['x', null, 'z'], new arrow.Utf8()).data[0] as arrow.Data;
    const field = new arrow.Field('element', new arrow.Utf8(), true);
    const d = makeData({
      type: new arrow.LargeList(field),
      length: 3,
      nullCount: 0,
      valueOffsets: new BigInt64Array([0n, 2n, 2n, 3n]),
      child,
    });
    const type: IcebergType = {
      type: 'list',
      elementId: 2,
      element: 'string',
      elementRequired: false,
    };
    const expected = [['x', null], [], ['z']];
    expect([0, 1, 2].map((i) => arrowDataValue(type, d, i))).toEqual(expected);
    const table = arrow.tableFromIPC(
      arrow.tableToIPC(new arrow.Table({ ls: arrow.makeVector(d) }), 'stream'),
    );
    const col = table.getChild('ls') as arrow.Vector;
    expect(col.data[0]?.valueOffsets).toBeInstanceOf(BigInt64Array);
    expect(arrowColumnToIceberg(type, col)).toEqual(expected);
  });
});

// large-types.parquet: written by pyarrow with PyIceberg's own Iceberg → Arrow mapping (see
// fixtures/pyarrow/make_fixtures.py): large_string, large_binary, large_list, map, uuid.
describe('a Parquet file as PyIceberg writes it (large_* Arrow types)', () => {
  const bytes = readFileSync(new URL('../fixtures/pyarrow/large-types.parquet', import.meta.url));
  const table = readParquet(new Uint8Array(bytes));

  test('its Arrow schema maps back to the Iceberg schema it was written from', () => {
    expect(schemaToJson(icebergSchemaFromArrow(table.schema))).toEqual({
      type: 'struct',
      'schema-id': 0,
      fields: [
        { id: 1, name: 'id', required: true, type: 'long' },
        { id: 2, name: 's', required: false, type: 'string' },
        { id: 3, name: 'bin', required: false, type: 'binary' },
        {
          id: 4,
          name: 'ls',
          required: false,
          type: { type: 'list', 'element-id': 5, element: 'string', 'element-required': false },
        },
        {
          id: 6,
          name: 'mp',
          required: false,
          type: {
            type: 'map',
            'key-id': 7,
            key: 'string',
            'value-id': 8,
            value: 'long',
            'value-required': false,
          },
        },
        {
          id: 9,
          name: 'lst',
          required: false,
          type: {
            type: 'list',
            'element-id': 10,
            element: {
              type: 'struct',
              fields: [{ id: 11, name: 'z', required: false, type: 'binary' }],
            },
            'element-required': false,
          },
        },
        { id: 12, name: 'u', required: false, type: 'uuid' },
        { id: 13, name: 'fx', required: false, type: 'fixed[3]' },
      ],
    });
  });

  test('every value reads exactly', () => {
    const rows = arrowTableToRows(icebergSchemaFromArrow(table.schema), table);
    expect(rows).toEqual([
      {
        id: 1n,
        s: 'héllo',
        bin: new Uint8Array([0, 1]),
        ls: ['a', null, 'ccc'],
        mp: new Map<string, bigint | null>([
          ['k', 1n],
          ['ü', null],
        ]),
        lst: [{ z: new Uint8Array([0xff]) }, null],
        u: 'f79c3e09-677c-4bbd-a479-3f349cb785e7',
        fx: new Uint8Array([0x61, 0x62, 0x63]),
      },
      {
        id: 2n,
        s: null,
        bin: new Uint8Array(0),
        ls: null,
        mp: new Map(),
        lst: null,
        u: null,
        fx: null,
      },
      {
        id: 3n,
        s: '',
        bin: null,
        ls: [],
        mp: null,
        lst: [{ z: null }],
        u: '00000000-0000-0000-0000-000000000000',
        fx: new Uint8Array(3),
      },
    ]);
  });
});

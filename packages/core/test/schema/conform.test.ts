import type { Schema, StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { expect, test } from 'vitest';
import { decodeJsonBatch } from '../../src/decode/json-decoder.ts';
import { KiceError } from '../../src/errors.ts';
import { conformToSchema, nullData } from '../../src/schema/conform.ts';
import { evolveSchema } from '../../src/schema/evolve.ts';
import { column, fieldsOf, pack } from '../decode/helpers.ts';

const v0: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'n', required: false, type: 'int' },
    { id: 2, name: 'f', required: false, type: 'float' },
    {
      id: 3,
      name: 'user',
      required: false,
      type: { type: 'struct', fields: [{ id: 4, name: 'name', required: false, type: 'string' }] },
    },
  ],
};

function decode(values: string[], schema: StructType) {
  return decodeJsonBatch({ ...pack(values), schema });
}

test('batches decoded under an older schema and with provisional ids concatenate', () => {
  const old = decode(['{"n":1,"f":0.5,"user":{"name":"a"}}'], v0);
  const fresh = decode(['{"n":3000000000,"user":{"age":7},"tags":["x"]}', '{"f":2}'], v0);
  expect(fresh.schema.fields.map((f) => f.name)).toEqual(['n', 'f', 'user', 'tags']);
  const evolved = evolveSchema(v0, fresh.schema, 4);
  // table ids: user.age = 5, tags = 6, tags element = 7
  const a = conformToSchema(old.ipc, evolved.schema);
  const b = conformToSchema(arrow.tableFromIPC(fresh.ipc), evolved.schema);
  const all = a.concat(b);
  expect(fieldsOf(all)).toEqual([
    'n:Int64#1',
    'f:Float32#2',
    'user:Struct<{name:Utf8, age:Int64}>#3',
    'tags:List<Utf8>#6',
  ]);
  const user = (all.schema.fields[2] as arrow.Field).type as arrow.Struct;
  expect(user.children.map((c) => c.metadata.get('PARQUET:field_id'))).toEqual(['4', '5']);
  const element = ((all.schema.fields[3] as arrow.Field).type as arrow.List).children[0];
  expect(element?.metadata.get('PARQUET:field_id')).toBe('7');
  expect(column(all, 'n')).toEqual([1n, 3000000000n, null]);
  expect(column(all, 'f')).toEqual([0.5, null, 2]);
  expect(column(all, 'user')).toEqual([{ name: 'a', age: null }, { name: null, age: 7n }, null]);
  expect(column(all, 'tags')).toEqual([null, ['x'], null]);
  // the concatenated table serializes and reads back the same
  const back = arrow.tableFromIPC(arrow.tableToIPC(all, 'stream'));
  expect(column(back, 'user')).toEqual(column(all, 'user'));
  expect(column(back, 'tags')).toEqual([null, ['x'], null]);
});

test('float widens to double, keeping nulls', () => {
  const batch = decode(['{"f":1.5}', '{}', '{"f":-0.25}'], v0);
  const wide: Schema = {
    ...v0,
    schemaId: 1,
    fields: [{ id: 2, name: 'f', required: false, type: 'double' }],
  };
  const t = conformToSchema(batch.ipc, wide);
  expect(fieldsOf(t)).toEqual(['f:Float64#2']);
  expect(column(t, 'f')).toEqual([1.5, null, -0.25]);
});

test('a column that cannot be read as the table type names the field', () => {
  const batch = decode(['{"user":{"name":"a"}}'], v0);
  const clash: Schema = {
    ...v0,
    fields: [
      {
        id: 3,
        name: 'user',
        required: false,
        type: { type: 'struct', fields: [{ id: 4, name: 'name', required: false, type: 'long' }] },
      },
    ],
  };
  expect(() => conformToSchema(batch.ipc, clash)).toThrow(KiceError);
  expect(() => conformToSchema(batch.ipc, clash)).toThrow(
    'field "user.name": cannot read Arrow Utf8 as long',
  );
});

test('nullData builds readable all-null columns of every shape', () => {
  const types = [
    new arrow.Int64(),
    new arrow.Utf8(),
    new arrow.Bool(),
    new arrow.Decimal(2, 9, 128),
    new arrow.FixedSizeBinary(16),
    new arrow.TimestampMicrosecond('UTC'),
    new arrow.List(new arrow.Field('element', new arrow.Int32())),
    new arrow.Struct([new arrow.Field('x', new arrow.Float64())]),
  ];
  for (const type of types) {
    const d = nullData(type, 3);
    const t = new arrow.Table({ c: arrow.makeVector(d) });
    const back = arrow.tableFromIPC(arrow.tableToIPC(t, 'stream'));
    expect(column(back, 'c'), String(type)).toEqual([null, null, null]);
  }
});

test('a column that became a string column after decoding is written as JSON text', () => {
  const empty: StructType = { type: 'struct', fields: [] };
  const early = decode(
    [
      '{"zip":12345,"d":-0.0,"b":true,"tag":["x","y"],"meta":{"k":1,"v":null}}',
      '{"zip":9007199254740993,"d":1.5,"b":null,"tag":[],"meta":{"k":2}}',
    ],
    empty,
  );
  const later = decode(['{"zip":"02134","d":"x","b":"y","tag":"x","meta":"m"}'], empty);
  const observed: Schema = { ...early.schema, schemaId: 0 };
  const merged = evolveSchema(observed, later.schema, 20, { conflictsAsString: true });
  expect(merged.schema.fields.map((f) => [f.id, f.type])).toEqual(
    observed.fields.map((f) => [f.id, 'string']),
  );
  const table = conformToSchema(early.ipc, merged.schema).concat(
    conformToSchema(later.ipc, merged.schema),
  );
  expect(column(table, 'zip')).toEqual(['12345', '9007199254740993', '02134']);
  expect(column(table, 'd')).toEqual(['-0', '1.5', 'x']);
  expect(column(table, 'b')).toEqual(['true', null, 'y']);
  expect(column(table, 'tag')).toEqual(['["x","y"]', '[]', 'x']);
  expect(column(table, 'meta')).toEqual(['{"k":1}', '{"k":2}', 'm']);
  // without the policy, the same merge is refused
  expect(() => evolveSchema(observed, later.schema, 20)).toThrow(KiceError);
});

test('a placeholder column ([] / {} only) gives way to the type other batches found; its rows stay empty', () => {
  const empty: StructType = { type: 'struct', fields: [] };
  // Decoded at the same time: one batch saw elements, the other only empties.
  const real = decode(
    ['{"items":[1,2],"meta":{"k":"v"},"s":"x","o":{"a":[3],"b":"y"},"nested":[4]}'],
    empty,
  );
  const only = decode(
    ['{"items":[],"meta":{},"s":[],"o":{"a":[]},"nested":[[]]}', '{"items":null,"meta":null}'],
    empty,
  );
  expect(only.placeholders).toEqual(['items', 'meta', 's', 'o', 'nested']);
  const observed: Schema = { ...real.schema, schemaId: 0 };
  const merged = evolveSchema(observed, only.schema, 20, {
    conflictsAsString: true,
    placeholders: new Set(only.placeholders),
  });
  // All but `nested` give way: [[]] cannot be a list of longs, so it is a type conflict
  // (typeConflicts asString: a list of JSON texts), as two real batches would be.
  expect(merged.schema.fields.find((f) => f.name === 'nested')?.type).toMatchObject({
    type: 'list',
    element: 'string',
  });
  expect(merged.schema.fields.filter((f) => f.name !== 'nested').map((f) => f.type)).toEqual(
    observed.fields.filter((f) => f.name !== 'nested').map((f) => f.type),
  );
  const table = conformToSchema(real.ipc, merged.schema).concat(
    conformToSchema(only.ipc, merged.schema),
  );
  expect(column(table, 'items')).toEqual([[1n, 2n], [], null]);
  expect(column(table, 'meta')).toEqual([{ k: 'v' }, { k: null }, null]);
  expect(column(table, 's')).toEqual(['x', '[]', null]);
  expect(column(table, 'o')).toEqual([{ a: [3n], b: 'y' }, { a: [], b: null }, null]);
  expect(column(table, 'nested')).toEqual([['4'], ['[]'], null]);
});

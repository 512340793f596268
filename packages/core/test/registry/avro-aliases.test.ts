import type { StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { resolveAliases } from '../../src/registry/avro-aliases.ts';
import { decodeAvroBatch } from '../../src/registry/avro-batch.ts';

const rec = (fields: unknown[], name = 'E') => ({ type: 'record', name, namespace: 'ns', fields });
const table = (fields: [number, string, StructType['fields'][number]['type']][]): StructType => ({
  type: 'struct',
  fields: fields.map(([id, name, type]) => ({ id, name, required: false, type })),
});

describe('resolveAliases', () => {
  it('renames a field to the column its alias names, at any depth; the input is not changed', () => {
    const v2 = rec([
      { name: 'id', type: 'long' },
      { name: 'email', aliases: ['mail', 'e_mail'], type: 'string' },
      {
        name: 'addr',
        type: ['null', rec([{ name: 'postcode', aliases: ['zip'], type: 'string' }], 'Addr')],
      },
      {
        name: 'items',
        type: { type: 'array', items: rec([{ name: 'qty', aliases: ['n'], type: 'int' }], 'I') },
      },
      {
        name: 'm',
        type: { type: 'map', values: rec([{ name: 'b', aliases: ['a'], type: 'int' }], 'V') },
      },
    ]);
    const before = JSON.stringify(v2);
    const t = table([
      [1, 'id', 'long'],
      [2, 'e_mail', 'string'],
      [
        3,
        'addr',
        { type: 'struct', fields: [{ id: 6, name: 'zip', required: false, type: 'string' }] },
      ],
      [
        4,
        'items',
        {
          type: 'list',
          elementId: 7,
          elementRequired: false,
          element: { type: 'struct', fields: [{ id: 8, name: 'n', required: false, type: 'int' }] },
        },
      ],
      [
        5,
        'm',
        {
          type: 'map',
          keyId: 9,
          key: 'string',
          valueId: 10,
          valueRequired: false,
          value: { type: 'struct', fields: [{ id: 11, name: 'a', required: false, type: 'int' }] },
        },
      ],
    ]);
    const out = resolveAliases(v2, t) as { fields: { name: string; type: unknown }[] };
    expect(JSON.stringify(v2)).toBe(before);
    expect(out.fields.map((f) => f.name)).toEqual(['id', 'e_mail', 'addr', 'items', 'm']);
    expect(JSON.stringify(out)).toContain('"name":"zip"');
    expect(JSON.stringify(out)).toContain('"name":"n"');
    expect(JSON.stringify(out)).toContain('"name":"a"');
  });

  it('keeps a field whose own name is a column, and never makes two fields of one name', () => {
    const v = rec([
      { name: 'email', aliases: ['mail'], type: 'string' },
      { name: 'mail', type: 'string' },
      { name: 'phone', aliases: ['tel'], type: 'string' },
    ]);
    const t = table([
      [1, 'email', 'string'],
      [2, 'mail', 'string'],
    ]);
    const out = resolveAliases(v, t) as { fields: { name: string }[] };
    expect(out.fields.map((f) => f.name)).toEqual(['email', 'mail', 'phone']);
    // No table column for the alias: a new column of the field's own name.
    expect(
      (resolveAliases(v, table([])) as { fields: { name: string }[] }).fields.map((f) => f.name),
    ).toEqual(['email', 'mail', 'phone']);
  });
});

/** Avro binary: a long (zigzag varint) and a string (length + UTF-8). */
function long(n: number): number[] {
  let z = BigInt.asUintN(64, (BigInt(n) << 1n) ^ (BigInt(n) >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return out;
}
const str = (s: string) => [...long(Buffer.byteLength(s)), ...Buffer.from(s)];
const frame = (id: number, body: number[]) => [0, 0, 0, 0, id, ...body];

describe('decodeAvroBatch with aliases', () => {
  const v1 = rec([
    { name: 'id', type: 'long' },
    { name: 'mail', type: 'string' },
  ]);
  const v2 = rec([
    { name: 'id', type: 'long' },
    { name: 'email', aliases: ['mail'], type: 'string' },
  ]);
  const schemas = {
    1: { schema: JSON.stringify(v1), references: [] },
    2: { schema: JSON.stringify(v2), references: [] },
  };
  const batch = (records: number[][]) => {
    const offsets = new Int32Array(records.length + 1);
    records.forEach((r, i) => {
      offsets[i + 1] = (offsets[i] as number) + r.length;
    });
    return { bytes: Uint8Array.from(records.flat()), offsets };
  };

  it('v1 then v2 in one batch of a new table: one column, the old name', () => {
    const r = decodeAvroBatch({
      ...batch([
        frame(1, [...long(1), ...str('a@x')]),
        frame(2, [...long(2), ...str('b@x')]),
        frame(1, [...long(3), ...str('c@x')]),
      ]),
      schema: { type: 'struct', fields: [] },
      schemas,
    });
    expect(r.errors).toEqual([]);
    expect(r.schema.fields.map((f) => [f.id, f.name])).toEqual([
      [1, 'id'],
      [2, 'mail'],
    ]);
    const t = arrow.tableFromIPC(r.ipc);
    expect([...(t.getChild('mail') as arrow.Vector)]).toEqual(['a@x', 'b@x', 'c@x']);
  });

  it('v2 alone against a table that has the old column: the same field id, no new column', () => {
    const existing = table([
      [1, 'id', 'long'],
      [7, 'mail', 'string'],
    ]);
    const r = decodeAvroBatch({
      ...batch([frame(2, [...long(5), ...str('e@x')])]),
      schema: existing,
      schemas,
    });
    expect(r.errors).toEqual([]);
    expect(r.changed).toBe(false);
    expect(r.schema).toEqual(existing);
    expect([...(arrow.tableFromIPC(r.ipc).getChild('mail') as arrow.Vector)]).toEqual(['e@x']);
  });

  it('v2 first on a new table makes the new name (no old column to keep)', () => {
    const r = decodeAvroBatch({
      ...batch([frame(2, [...long(5), ...str('e@x')])]),
      schema: { type: 'struct', fields: [] },
      schemas,
    });
    expect(r.schema.fields.map((f) => f.name)).toEqual(['id', 'email']);
  });
});

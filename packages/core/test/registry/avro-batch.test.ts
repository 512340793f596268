/**
 * The Avro batch decoder (registry/avro-batch.ts on the registry batch driver) on datums
 * encoded by avsc (an independent Avro implementation) and, for encodings avsc does not
 * write (negative block counts, over-long varints, corrupt bytes), by hand from the spec:
 * https://avro.apache.org/docs/1.12.0/specification/#binary-encoding
 * Rows are read back from the Arrow IPC the decoder returns.
 */
import { arrowValueToIceberg, type StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import type { MetaSpec, RecordMeta } from '../../src/decode/record-meta.ts';
import { decodeAvroBatch } from '../../src/registry/avro-batch.ts';
import type { RegistryBatchInput } from '../../src/registry/formats.ts';

/** avsc's long as bigint, so that every 64-bit value can be written. */
const bigLong = avro.types.LongType.__with({
  fromBuffer: (b: Buffer) => b.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return b;
  },
  fromJSON: (x: unknown) => BigInt(x as number),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

function typeOf(schema: unknown): avro.Type {
  return avro.Type.forSchema(
    schema as avro.Schema,
    {
      wrapUnions: true,
      registry: { long: bigLong },
      typeHook: (s: unknown) =>
        s !== null && typeof s === 'object' && (s as { type?: unknown }).type === 'long'
          ? bigLong
          : undefined,
    } as Partial<avro.ForSchemaOptions>,
  );
}

const frame = (id: number, datum: Uint8Array) => {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(id, 1);
  return Buffer.concat([h, datum]);
};

/** A batch of framed values; `schemas` by id. */
function decode(
  values: Uint8Array[],
  schemas: Record<number, unknown>,
  schema: StructType = { type: 'struct', fields: [] },
  metadata?: RegistryBatchInput['metadata'],
) {
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => {
    offsets[i + 1] = (offsets[i] as number) + v.length;
  });
  const texts = Object.fromEntries(
    Object.entries(schemas).map(([id, s]) => [id, { schema: JSON.stringify(s), references: [] }]),
  );
  const r = decodeAvroBatch({
    bytes: new Uint8Array(Buffer.concat(values)),
    offsets,
    schema,
    schemas: texts,
    ...(metadata ? { metadata } : {}),
  });
  const t = arrow.tableFromIPC(r.ipc);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const f of r.schema.fields) {
      const v = arrowValueToIceberg(f.type, t.getChild(f.name)?.get(i));
      // Arrow's DateDay getter answers epoch milliseconds; the column holds days.
      row[f.name] = f.type === 'date' && typeof v === 'number' ? v / 86_400_000 : v;
    }
    rows.push(row);
  }
  return { ...r, rows };
}

/** Zigzag varint of a long (spec), for hand-made datums. */
function varint(v: bigint): number[] {
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  do {
    const b = Number(z & 0x7fn);
    z >>= 7n;
    out.push(z > 0n ? b | 0x80 : b);
  } while (z > 0n);
  return out;
}
const str = (s: string) => [...varint(BigInt(Buffer.byteLength(s))), ...Buffer.from(s)];

const rec = (fields: unknown[], name = 'R') => ({ type: 'record', name, fields });

describe('Avro batch decoder', () => {
  it('decodes every type avsc writes, nested and in unions, exactly', () => {
    const schema = rec(
      [
        { name: 'i', type: 'int' },
        { name: 'l', type: 'long' },
        { name: 'f', type: 'float' },
        { name: 'd', type: 'double' },
        { name: 'b', type: 'boolean' },
        { name: 's', type: 'string' },
        { name: 'by', type: 'bytes' },
        { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
        {
          name: 'decf',
          type: {
            type: 'fixed',
            name: 'D',
            size: 3,
            logicalType: 'decimal',
            precision: 6,
            scale: 0,
          },
        },
        { name: 'u', type: { type: 'string', logicalType: 'uuid' } },
        { name: 'uf', type: { type: 'fixed', name: 'U', size: 16, logicalType: 'uuid' } },
        { name: 'dt', type: { type: 'int', logicalType: 'date' } },
        { name: 'tm', type: { type: 'int', logicalType: 'time-millis' } },
        { name: 'tsm', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'ltu', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
        { name: 'fx', type: { type: 'fixed', name: 'Four', size: 4 } },
        { name: 'en', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
        {
          name: 'pts',
          type: { type: 'array', items: rec([{ name: 'x', type: ['null', 'long'] }], 'P') },
        },
        { name: 'm', type: { type: 'map', values: ['null', 'Four'] } },
        { name: 'nested', type: { type: 'array', items: { type: 'array', items: 'string' } } },
        { name: 'un', type: ['null', 'int', 'string', 'P'] },
        { name: 'again', type: ['null', 'P'] },
      ],
      'All',
    );
    const t = typeOf(schema);
    const a = t.toBuffer({
      i: -2147483648,
      l: -9223372036854775808n,
      f: 1.5,
      d: 1e300,
      b: true,
      s: 'héllo ✓',
      by: Buffer.from([0, 255]),
      dec: Buffer.from([0xff, 0x80]), // -128
      decf: Buffer.from([0x01, 0x00, 0x00]), // 65536
      u: '6BA7B810-9dad-11d1-80b4-00c04fd430c8',
      uf: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
      dt: -1,
      tm: 86399999,
      tsm: 1709251200123n,
      ltu: -1n,
      fx: Buffer.from('deadbeef', 'hex'),
      en: 'GREEN',
      pts: [{ x: { long: 9223372036854775807n } }, { x: null }],
      m: { k: { Four: Buffer.from([1, 2, 3, 4]) }, z: null },
      nested: [['a', 'b'], [], ['c']],
      un: { P: { x: { long: 7n } } },
      again: null,
    });
    const b = t.toBuffer({
      i: 2147483647,
      l: 9007199254740993n,
      f: -0,
      d: Number.NaN,
      b: false,
      s: '',
      by: Buffer.alloc(0),
      dec: Buffer.alloc(0),
      decf: Buffer.from([0xff, 0xff, 0xff]),
      u: '00000000-0000-0000-0000-000000000000',
      uf: Buffer.alloc(16),
      dt: 19783,
      tm: 0,
      tsm: -1n,
      ltu: 4611686018427387904n,
      fx: Buffer.alloc(4),
      en: 'RED',
      pts: [],
      m: {},
      nested: [],
      un: { string: 'text' },
      again: { P: { x: null } },
    });
    const r = decode([frame(1, a), frame(1, b)], { 1: schema });
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([
      {
        i: -2147483648,
        l: -9223372036854775808n,
        f: 1.5,
        d: 1e300,
        b: true,
        s: 'héllo ✓',
        by: Uint8Array.of(0, 255),
        dec: -128n,
        decf: 65536n,
        u: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
        uf: '00112233-4455-6677-8899-aabbccddeeff',
        dt: -1,
        tm: 86399999000n,
        tsm: 1709251200123000n,
        ltu: -1n,
        fx: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
        en: 'GREEN',
        pts: [{ x: 9223372036854775807n }, { x: null }],
        m: new Map([
          ['k', Uint8Array.of(1, 2, 3, 4)],
          ['z', null],
        ]),
        nested: [['a', 'b'], [], ['c']],
        un: { int: null, string: null, P: { x: 7n } },
        again: null,
      },
      {
        i: 2147483647,
        l: 9007199254740993n,
        f: -0,
        d: Number.NaN,
        b: false,
        s: '',
        by: new Uint8Array(0),
        dec: 0n,
        decf: -1n,
        u: '00000000-0000-0000-0000-000000000000',
        uf: '00000000-0000-0000-0000-000000000000',
        dt: 19783,
        tm: 0n,
        tsm: -1000n,
        ltu: 4611686018427387904n,
        fx: Uint8Array.of(0, 0, 0, 0),
        en: 'RED',
        pts: [],
        m: new Map(),
        nested: [],
        un: { int: null, string: 'text', P: null },
        again: { x: null },
      },
    ]);
  });

  it('reads negative-count blocks (with byte sizes) and longs of every varint length', () => {
    const schema = rec([
      { name: 'xs', type: { type: 'array', items: 'long' } },
      { name: 'm', type: { type: 'map', values: 'int' } },
    ]);
    const longs = [
      0n,
      -1n,
      63n,
      -64n,
      2n ** 48n,
      2n ** 53n - 1n,
      -(2n ** 53n - 1n),
      -(2n ** 53n),
      2n ** 53n + 1n,
      -(2n ** 63n),
      2n ** 63n - 1n,
    ];
    const items = longs.flatMap(varint);
    // xs: one block of -2 items (size follows), one of the rest; m: one block of -1 entry.
    const two = [...varint(longs[0] as bigint), ...varint(longs[1] as bigint)];
    const rest = longs.slice(2).flatMap(varint);
    const datum = [
      ...varint(-2n),
      ...varint(BigInt(two.length)),
      ...two,
      ...varint(BigInt(longs.length - 2)),
      ...rest,
      0,
      ...varint(-1n),
      ...varint(3n),
      ...str('k'),
      ...varint(-5n),
      0,
    ];
    expect(items.length).toBe(two.length + rest.length);
    const r = decode([frame(3, Uint8Array.from(datum))], { 3: schema });
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual([{ xs: longs, m: new Map([['k', -5]]) }]);
    // avsc reads the same bytes the same way.
    expect(typeOf(schema).fromBuffer(Buffer.from(datum))).toEqual({ xs: longs, m: { k: -5 } });
  });

  it('reads random 64-bit longs of every magnitude exactly as avsc writes them', () => {
    const schema = rec([
      { name: 'l', type: 'long' },
      { name: 'i', type: 'int' },
    ]);
    const t = typeOf(schema);
    let x = 0x9e3779b97f4a7c15n;
    const next = () => {
      x ^= (x << 13n) & 0xffffffffffffffffn;
      x ^= x >> 7n;
      x ^= (x << 17n) & 0xffffffffffffffffn;
      return x;
    };
    const want = Array.from({ length: 2000 }, (_, k) => {
      const l = BigInt.asIntN(64, next()) >> BigInt(k % 64);
      const i = Number(BigInt.asIntN(32, next()) >> BigInt(k % 32));
      return { l, i };
    });
    const r = decode(
      want.map((w) => frame(9, t.toBuffer(w))),
      { 9: schema },
    );
    expect(r.errors).toEqual([]);
    expect(r.rows).toEqual(want.map((w) => ({ l: w.l, i: w.i })));
  });

  it('refuses corrupt and truncated datums with the reason, keeping no partial row', () => {
    const schema = rec([
      { name: 's', type: 'string' },
      { name: 'tags', type: { type: 'array', items: 'string' } },
      { name: 'ok', type: 'boolean' },
      { name: 'u', type: ['null', 'int'] },
      { name: 'n', type: 'int' },
    ]);
    const t = typeOf(schema);
    const good = (s: string, n: number) =>
      frame(5, t.toBuffer({ s, tags: ['x', s], ok: true, u: { int: n }, n }));
    const body = (...b: number[]) => frame(5, Uint8Array.from(b));
    const values = [
      good('a', 1),
      // tags hold one item, then the boolean byte is 2
      body(...str('b'), 2, ...str('t'), 0, 2, 0, 0),
      // union branch 2 of 2
      body(...str('c'), 0, 1, ...varint(2n), 0),
      // a 6-byte int
      body(...str('d'), 0, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
      // an int beyond 32 bits (5th byte 0x10)
      body(...str('e'), 0, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x10),
      // invalid UTF-8
      body(2, 0xc3, 0x28, 0, 1, 0, 0),
      // a string longer than the record
      body(...varint(50n), 0x61),
      // negative length
      body(...varint(-3n)),
      // trailing bytes
      frame(
        5,
        Buffer.concat([
          t.toBuffer({ s: 'f', tags: [], ok: false, u: null, n: 0 }),
          Buffer.from([0, 0]),
        ]),
      ),
      // a block count of 10 bytes beyond 64 bits
      body(...str('g'), ...Array(10).fill(0xff), 0x01),
      // a block count beyond what the record holds
      body(...str('h'), ...varint(1000n), ...str('x')),
      good('z', 2),
    ];
    const r = decode(values, { 5: schema });
    expect(r.errors).toEqual([
      { index: 1, reason: 'corrupt Avro payload: field "ok": boolean byte 2 (0 or 1)' },
      {
        index: 2,
        reason: 'corrupt Avro payload: field "u": union branch index 2 (2 in the schema)',
      },
      { index: 3, reason: 'corrupt Avro payload: an int beyond 32 bits' },
      { index: 4, reason: 'corrupt Avro payload: an int beyond 32 bits' },
      { index: 5, reason: 'corrupt Avro payload: field "s": not valid UTF-8' },
      { index: 6, reason: 'truncated Avro payload: 2 bytes end inside the datum' },
      { index: 7, reason: 'corrupt Avro payload: field "s": negative length -3' },
      { index: 8, reason: 'corrupt Avro payload: 2 bytes left after the datum' },
      { index: 9, reason: 'corrupt Avro payload: a long beyond 64 bits' },
      { index: 10, reason: 'truncated Avro payload: 6 bytes end inside the datum' },
    ]);
    expect(r.rows).toEqual([
      { s: 'a', tags: ['x', 'a'], ok: true, u: 1, n: 1 },
      { s: 'z', tags: ['x', 'z'], ok: true, u: 2, n: 2 },
    ]);
  });

  it('widens older versions into the evolved columns; a required table field the writer lacks refuses its records', () => {
    const v1 = rec([
      { name: 'id', type: 'int' },
      { name: 'f', type: 'float' },
      { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 4, scale: 1 } },
    ]);
    const v2 = rec([
      { name: 'id', type: 'long' },
      { name: 'f', type: 'double' },
      { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 1 } },
      { name: 'extra', type: ['null', 'string'] },
    ]);
    const a = typeOf(v1).toBuffer({ id: -5, f: 0.5, dec: Buffer.from([0x03, 0xe7]) });
    const b = typeOf(v2).toBuffer({
      id: 2n ** 40n,
      f: 0.1,
      dec: Buffer.from([0x01]),
      extra: { string: 'x' },
    });
    const r = decode([frame(1, a), frame(2, b), frame(1, a)], { 1: v1, 2: v2 });
    expect(r.errors).toEqual([]);
    expect(r.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['id', 'long'],
      ['f', 'double'],
      ['dec', 'decimal(12, 1)'],
      ['extra', 'string'],
    ]);
    const one = { id: -5n, f: 0.5, dec: 999n, extra: null };
    expect(r.rows).toEqual([one, { id: 2n ** 40n, f: 0.1, dec: 1n, extra: 'x' }, one]);
    // A table whose `extra` is required: v1 records are refused, v2 ones land.
    const table: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 'extra', required: true, type: 'string' }],
    };
    const q = decode([frame(1, a), frame(2, b)], { 1: v1, 2: v2 }, table);
    expect(q.errors).toEqual([{ index: 0, reason: 'field "extra" is required' }]);
    expect(q.rows).toEqual([{ extra: 'x', id: 2n ** 40n, f: 0.1, dec: 1n }]);
  });

  it('adds metadata and key columns in the table order across batches; a refused key leaves no row', () => {
    const spec: MetaSpec = { kafka: '_kafka', key: { column: 'k', format: 'string' } };
    const meta = (keys: (Uint8Array | null)[]): RecordMeta => {
      const offsets = new Int32Array(keys.length + 1);
      keys.forEach((k, i) => {
        offsets[i + 1] = (offsets[i] as number) + (k?.length ?? 0);
      });
      return {
        topic: 't',
        partition: 2,
        recordOffsets: BigInt64Array.from(keys.map((_, i) => 10n + BigInt(i))),
        timestamps: Float64Array.from(keys.map((_, i) => 1000 + i)),
        keys: {
          bytes: new Uint8Array(Buffer.concat(keys.map((k) => k ?? new Uint8Array(0)))),
          offsets,
          nulls: Uint8Array.from(keys.map((k) => (k === null ? 1 : 0))),
        },
        headers: keys.map(() => []),
      };
    };
    const v1 = rec([{ name: 'id', type: 'int' }]);
    const v2 = rec([
      { name: 'id', type: 'int' },
      { name: 'x', type: 'string' },
    ]);
    const a = (id: number) => frame(1, typeOf(v1).toBuffer({ id }));
    const kafka = (i: number) => ({
      topic: 't',
      partition: 2,
      offset: 10n + BigInt(i),
      timestamp: (1000n + BigInt(i)) * 1000n,
      timestamp_type: 'CreateTime',
      headers: [],
    });
    const first = decode([a(0), a(1), a(2)], { 1: v1 }, undefined, {
      spec,
      records: meta([Buffer.from('k0'), Uint8Array.of(0xff), null]),
    });
    expect(first.errors).toEqual([{ index: 1, reason: 'key: not valid UTF-8' }]);
    expect(first.schema.fields.map((f) => f.name)).toEqual(['id', 'k', '_kafka']);
    expect(first.rows).toEqual([
      { id: 0, k: 'k0', _kafka: kafka(0) },
      { id: 2, k: null, _kafka: kafka(2) },
    ]);
    // Against the evolved schema: a new value field goes after the metadata columns.
    const b = frame(2, typeOf(v2).toBuffer({ id: 3, x: 'y' }));
    const second = decode([a(4), b], { 1: v1, 2: v2 }, first.schema, {
      spec,
      records: meta([null, Buffer.from('k1')]),
    });
    expect(second.changed).toBe(true);
    expect(second.schema.fields.map((f) => [f.id, f.name])).toEqual([
      [1, 'id'],
      [12, 'k'],
      [2, '_kafka'],
      [13, 'x'],
    ]);
    expect(second.rows).toEqual([
      { id: 4, k: null, _kafka: kafka(0), x: null },
      { id: 3, k: 'k1', _kafka: kafka(1), x: 'y' },
    ]);
    const third = decode([b], { 2: v2 }, second.schema, { spec, records: meta([null]) });
    expect(third.changed).toBe(false);
  });
});

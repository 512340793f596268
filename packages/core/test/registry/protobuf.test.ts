/**
 * Protobuf wire parsing, schema mapping and decoding (registry/protobuf-*.ts). Messages
 * are encoded by protobufjs's own writer from the same .proto text, so the reader is
 * checked against an independent encoder; Confluent's serializer is exercised by the
 * integration tests.
 */
import { arrowValueToIceberg, type StructType } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { decodeProtobufBatch } from '../../src/registry/protobuf-batch.ts';
import { parseProtoSchema, protoToIceberg } from '../../src/registry/protobuf-schema.ts';
import { readMessageIndexes, WireReader } from '../../src/registry/protobuf-wire.ts';

const PROTO = `
syntax = "proto3";
package t;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
message First { int32 a = 1; }
message Ev {
  int32 i = 1;
  uint64 u = 2;
  sint64 z = 3;
  repeated int32 r = 4;
  map<string, Inner> m = 5;
  oneof k { string s = 6; int32 n = 7; }
  optional int32 o = 8;
  E e = 9;
  google.protobuf.Timestamp ts = 10;
  google.protobuf.Int64Value w = 11;
  Inner in = 12;
  message Inner { string name = 1; }
  enum E { ZERO = 0; ONE = 1; }
}
`;

function reader(bytes: Uint8Array): WireReader {
  const r = new WireReader(bytes);
  r.end = bytes.length;
  return r;
}

function encode(values: Record<string, unknown>): Uint8Array {
  const root = protobuf.parse(PROTO, { keepCase: true }).root;
  root.addJSON(
    (protobuf as unknown as { common: { get(n: string): { nested: never } } }).common.get(
      'google/protobuf/timestamp.proto',
    ).nested,
  );
  root.addJSON(
    (protobuf as unknown as { common: { get(n: string): { nested: never } } }).common.get(
      'google/protobuf/wrappers.proto',
    ).nested,
  );
  const T = root.lookupType('t.Ev');
  return T.encode(T.fromObject(values)).finish();
}

/** Frames messages of t.Ev (schema id 1, message indexes [1]) and decodes them as a batch. */
function batch(messages: Uint8Array[], schema: StructType = { type: 'struct', fields: [] }) {
  const values = messages.map((m) => Buffer.concat([Buffer.from([0, 0, 0, 0, 1, 2, 2]), m]));
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => {
    offsets[i + 1] = (offsets[i] as number) + v.length;
  });
  const r = decodeProtobufBatch({
    bytes: new Uint8Array(Buffer.concat(values)),
    offsets,
    schema,
    schemas: { 1: { schema: PROTO, references: [] } },
  });
  const t = arrow.tableFromIPC(r.ipc);
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const row: Record<string, unknown> = {};
    for (const f of r.schema.fields)
      row[f.name] = arrowValueToIceberg(f.type, t.getChild(f.name)?.get(i));
    rows.push(row);
  }
  return { rows, errors: r.errors };
}

function decode(values: Record<string, unknown>) {
  const { rows, errors } = batch([encode(values)]);
  expect(errors).toEqual([]);
  return { row: rows[0] };
}

describe('message indexes', () => {
  it('reads the short form [0], a count with zigzag indexes, and refuses a bad count', () => {
    expect(readMessageIndexes(reader(Uint8Array.of(0)))).toEqual([0]);
    // count 2 (zigzag 4), indexes 1 (2) and 0 (0)
    const r = reader(Uint8Array.of(4, 2, 0, 0x08));
    expect(readMessageIndexes(r)).toEqual([1, 0]);
    expect(r.pos).toBe(3);
    expect(() => readMessageIndexes(reader(Uint8Array.of(20, 2)))).toThrow(
      'not a Protobuf frame: message-index count 10 does not fit the 1 bytes left',
    );
    expect(() => readMessageIndexes(reader(new Uint8Array(0)))).toThrow(
      'not a Protobuf frame: the message-index list is missing after the schema id',
    );
  });

  it('selects top-level and nested messages; out of range is an error naming the list', () => {
    const s = parseProtoSchema({ schema: PROTO, references: [] });
    expect(s.messageAt([0])).toBe('t.First');
    expect(s.messageAt([1])).toBe('t.Ev');
    expect(s.messageAt([1, 0])).toBe('t.Ev.Inner');
    expect(() => s.messageAt([2])).toThrow(
      'message indexes [2]: index 2 is out of range, the file has 2 messages',
    );
    expect(() => s.messageAt([1, 3])).toThrow(
      'message indexes [1, 3]: index 3 is out of range, t.Ev has 1 message',
    );
  });
});

describe('writers chosen by message indexes', () => {
  it('decodes messages of several writer messages of one schema id interleaved in one batch', () => {
    const root = protobuf.parse(PROTO, { keepCase: true }).root;
    const first = (a: number) => root.lookupType('t.First').encode({ a }).finish();
    const inner = (name: string) => root.lookupType('t.Ev.Inner').encode({ name }).finish();
    const frame = (indexes: number[], m: Uint8Array) =>
      Buffer.concat([Buffer.from([0, 0, 0, 0, 1, ...indexes]), m]);
    const values = [
      frame([0], first(1)), // the short form of [0]
      frame([4, 2, 0], inner('x')), // [1, 0]: t.Ev.Inner
      frame([2, 4], first(9)), // [2]: the file has two messages
      frame([2, 0], first(3)), // [0] spelled out: the same writer as the short form
      frame([4, 2, 0], inner('y')),
    ];
    const offsets = new Int32Array(values.length + 1);
    values.forEach((v, i) => {
      offsets[i + 1] = (offsets[i] as number) + v.length;
    });
    const r = decodeProtobufBatch({
      bytes: new Uint8Array(Buffer.concat(values)),
      offsets,
      schema: { type: 'struct', fields: [] },
      schemas: { 1: { schema: PROTO, references: [] } },
    });
    expect(r.errors).toEqual([
      {
        index: 2,
        reason:
          'schema id 1: message indexes [2]: index 2 is out of range, the file has 2 messages',
      },
    ]);
    expect(r.schema.fields.map((f) => [f.name, f.type])).toEqual([
      ['a', 'int'],
      ['name', 'string'],
    ]);
    const t = arrow.tableFromIPC(r.ipc);
    expect(t.toArray().map((row) => ({ ...row.toJSON() }))).toEqual([
      { a: 1, name: null },
      { a: null, name: 'x' },
      { a: 3, name: null },
      { a: null, name: 'y' },
    ]);
  });
});

describe('varints', () => {
  it('reads 64-bit values exactly, negative int32 from 10-byte varints', () => {
    const w = protobuf.Writer.create();
    w.int32(-1).int64('-9223372036854775808').uint64('18446744073709551615').sint64('-3');
    const r = reader(w.finish());
    expect(r.int32()).toBe(-1);
    expect(r.int64()).toBe(-9223372036854775808n);
    expect(r.uint64()).toBe(18446744073709551615n);
    expect(r.sint64()).toBe(-3n);
    expect(r.pos).toBe(r.end);
  });

  it('truncated and over-long varints fail with the reason', () => {
    expect(() => reader(Uint8Array.of(0x80, 0x80)).uint32()).toThrow(
      'truncated Protobuf payload: the bytes end inside a field',
    );
    expect(() => reader(new Uint8Array(11).fill(0xff)).int64()).toThrow(
      'corrupt Protobuf payload: varint longer than 10 bytes',
    );
  });
});

describe('mapping', () => {
  it('maps scalars, lists, maps, oneof members, enums and well-known types', () => {
    const s = parseProtoSchema({ schema: PROTO, references: [] });
    const st = protoToIceberg(s, 't.Ev');
    expect(
      st.fields.map((f) => [f.id, f.name, typeof f.type === 'string' ? f.type : f.type.type]),
    ).toEqual([
      [1, 'i', 'int'],
      [2, 'u', 'long'],
      [3, 'z', 'long'],
      [4, 'r', 'list'],
      [5, 'm', 'map'],
      [6, 's', 'string'],
      [7, 'n', 'int'],
      [8, 'o', 'int'],
      [9, 'e', 'string'],
      [10, 'ts', 'timestamptz'],
      [11, 'w', 'long'],
      [12, 'in', 'struct'],
    ]);
    expect(st.fields.every((f) => !f.required)).toBe(true);
  });

  it('refuses a recursive message naming the path', () => {
    const s = parseProtoSchema({
      schema:
        'syntax = "proto3"; message Node { string v = 1; Wrap w = 2; } message Wrap { Node child = 1; }',
      references: [],
    });
    expect(() => protoToIceberg(s, 'Node')).toThrow(
      'protobuf schema at "w.child": recursive message "Node" (Iceberg has no recursive types)',
    );
  });

  it('resolves imports of .proto text through references, nested message indexes by declaration', () => {
    const s = parseProtoSchema({
      schema:
        'syntax = "proto3"; package app; import "lib/common.proto"; import "google/protobuf/duration.proto"; message Order { lib.Money total = 1; google.protobuf.Duration wait = 2; message Line { int32 n = 1; } }',
      references: [
        {
          name: 'lib/common.proto',
          schema:
            'syntax = "proto3"; package lib; message Money { int64 cents = 1; string currency = 2; }',
        },
      ],
    });
    expect(s.messageAt([0])).toBe('app.Order');
    expect(s.messageAt([0, 0])).toBe('app.Order.Line');
    expect(() => s.messageAt([1])).toThrow('index 1 is out of range, the file has 1 message');
    const st = protoToIceberg(s, 'app.Order');
    expect(st.fields.map((f) => [f.name, f.type])).toEqual([
      [
        'total',
        {
          type: 'struct',
          fields: [
            { id: 3, name: 'cents', required: false, type: 'long' },
            { id: 4, name: 'currency', required: false, type: 'string' },
          ],
        },
      ],
      ['wait', 'long'],
    ]);
  });

  it('refuses an import that is neither a reference nor a well-known type', () => {
    expect(() =>
      parseProtoSchema({
        schema: 'syntax = "proto3"; import "other.proto"; message A { int32 a = 1; }',
        references: [],
      }),
    ).toThrow('protobuf schema: import "other.proto" is neither a reference nor a well-known type');
  });
});

describe('decoding', () => {
  it('decodes every kind and writes proto3 defaults for absent implicit fields', () => {
    const { row } = decode({
      i: -5,
      u: '9223372036854775807',
      z: '-2',
      r: [1, -1],
      m: { a: { name: 'x' } },
      s: 'text',
      o: 0,
      e: 1,
      ts: { seconds: 1709251200, nanos: 123456789 },
      w: { value: '-7' },
      in: { name: 'y' },
    });
    expect(row).toEqual({
      i: -5,
      u: 9223372036854775807n,
      z: -2n,
      r: [1, -1],
      m: new Map([['a', { name: 'x' }]]),
      s: 'text',
      n: null,
      o: 0,
      e: 'ONE',
      ts: 1709251200123456n,
      w: -7n,
      in: { name: 'y' },
    });
    expect(decode({}).row).toEqual({
      i: 0,
      u: 0n,
      z: 0n,
      r: [],
      m: new Map(),
      s: null,
      n: null,
      o: null,
      e: 'ZERO',
      ts: null,
      w: null,
      in: null,
    });
  });

  it('the last oneof member wins, a repeated scalar keeps the last value, an unknown enum number is its text', () => {
    const w = protobuf.Writer.create();
    w.uint32((6 << 3) | 2).string('a');
    w.uint32((7 << 3) | 0).int32(3);
    w.uint32((9 << 3) | 0).int32(42);
    w.uint32((1 << 3) | 0).int32(1);
    w.uint32((1 << 3) | 0).int32(2);
    // unpacked and packed occurrences of one repeated field, an unknown field between
    w.uint32((4 << 3) | 0).int32(7);
    w.uint32((99 << 3) | 2).string('skipped');
    w.uint32((4 << 3) | 2)
      .fork()
      .int32(8)
      .int32(-9)
      .ldelim();
    const { rows, errors } = batch([w.finish()]);
    expect(errors).toEqual([]);
    expect(rows[0]).toMatchObject({ i: 2, s: null, n: 3, e: '42', r: [7, 8, -9] });
  });

  it('uint64 above 2^63-1, wrong wire types, truncation, repeated message fields and map keys fail with the reason; the rest of the batch lands', () => {
    const good = encode({ i: 1 });
    const twice = protobuf.Writer.create();
    twice
      .uint32((12 << 3) | 2)
      .fork()
      .uint32(10)
      .string('a')
      .ldelim();
    twice
      .uint32((12 << 3) | 2)
      .fork()
      .uint32(10)
      .string('b')
      .ldelim();
    const dupKey = protobuf.Writer.create();
    for (const v of ['x', 'y'])
      dupKey
        .uint32((5 << 3) | 2)
        .fork()
        .uint32(10)
        .string('k')
        .uint32(18)
        .fork()
        .uint32(10)
        .string(v)
        .ldelim()
        .ldelim();
    const wrongWire = protobuf.Writer.create()
      .uint32((1 << 3) | 2)
      .string('x')
      .finish();
    const cut = encode({ in: { name: 'abcdef' } });
    const { rows, errors } = batch([
      encode({ u: '18446744073709551615' }),
      good,
      wrongWire,
      cut.subarray(0, cut.length - 2),
      twice.finish(),
      dupKey.finish(),
      good,
    ]);
    expect(rows.map((r) => r.i)).toEqual([1, 1]);
    expect(errors).toEqual([
      {
        index: 0,
        reason: 'field "u": uint64 value 18446744073709551615 does not fit a long (above 2^63-1)',
      },
      {
        index: 2,
        reason: 'corrupt Protobuf payload: field "i" (number 1) has wire type 2, expected 0',
      },
      { index: 3, reason: 'truncated Protobuf payload: the bytes end inside a field' },
      {
        index: 4,
        reason: 'field "in": a message field appears twice (concatenated messages are not merged)',
      },
      { index: 5, reason: 'field "m": map key "k" appears twice' },
    ]);
  });

  it('decodes into a wider table column (int into long) and leaves columns the writer lacks null', () => {
    const table: StructType = {
      type: 'struct',
      fields: [
        { id: 1, name: 'i', required: false, type: 'long' },
        { id: 2, name: 'gone', required: false, type: 'string' },
      ],
    };
    const { rows, errors } = batch([encode({ i: -3 })], table);
    expect(errors).toEqual([]);
    expect(rows[0]).toMatchObject({ i: -3n, gone: null });
  });
});

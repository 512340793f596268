import { describe, expect, it } from 'vitest';
import { AvroReader, decodeAvro } from '../../src/avro/decoder.ts';
import { AvroWriter, encodeAvro } from '../../src/avro/encoder.ts';
import { parseAvroSchema } from '../../src/avro/schema.ts';

function encode(schema: unknown, v: unknown): number[] {
  const w = new AvroWriter(1);
  encodeAvro(w, parseAvroSchema(schema), v);
  return [...w.bytes()];
}

function roundTrip(schema: unknown, v: unknown): unknown {
  const node = parseAvroSchema(schema);
  const w = new AvroWriter(1);
  encodeAvro(w, node, v);
  const r = new AvroReader(w.bytes());
  const out = decodeAvro(r, node);
  expect(r.remaining).toBe(0);
  return out;
}

describe('Avro binary encoding', () => {
  it('writes zig-zag varints exactly as the spec examples', () => {
    expect(encode('long', 0)).toEqual([0x00]);
    expect(encode('long', -1)).toEqual([0x01]);
    expect(encode('long', 1)).toEqual([0x02]);
    expect(encode('long', -2)).toEqual([0x03]);
    expect(encode('long', 2)).toEqual([0x04]);
    expect(encode('long', -64)).toEqual([0x7f]);
    expect(encode('long', 64)).toEqual([0x80, 0x01]);
    expect(encode('int', 2 ** 31 - 1)).toEqual([0xfe, 0xff, 0xff, 0xff, 0x0f]);
    expect(encode('int', -(2 ** 31))).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(encode('long', 2n ** 63n - 1n)).toEqual([
      0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    expect(encode('long', -(2n ** 63n))).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    // A number and a bigint of the same value encode the same.
    expect(encode('long', 2 ** 40)).toEqual(encode('long', 2n ** 40n));
  });

  it('reads longs back as bigint, at every width', () => {
    for (const v of [
      0n,
      -1n,
      63n,
      -64n,
      (1n << 27n) - 1n,
      1n << 27n,
      -(1n << 27n) - 1n,
      2n ** 31n,
      -(2n ** 40n),
      3055729675574597004n,
      -3055729675574597004n,
      2n ** 63n - 1n,
      -(2n ** 63n),
    ]) {
      expect(roundTrip('long', v)).toBe(v);
    }
    expect(roundTrip('long', 5)).toBe(5n);
  });

  it('encodes strings, bytes, fixed, floats and booleans', () => {
    expect(encode('string', 'foo')).toEqual([0x06, 0x66, 0x6f, 0x6f]);
    expect(encode('bytes', new Uint8Array([1, 2]))).toEqual([0x04, 1, 2]);
    expect(encode({ type: 'fixed', name: 'f', size: 2 }, new Uint8Array([9, 8]))).toEqual([9, 8]);
    expect(encode('float', 1.5)).toEqual([0x00, 0x00, 0xc0, 0x3f]);
    expect(encode('double', -2)).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0]);
    expect(encode('boolean', true)).toEqual([1]);
    expect(roundTrip('string', 'héllo ☃')).toBe('héllo ☃');
    expect(roundTrip('double', Number.NaN)).toBeNaN();
  });

  it('picks union branches by value type and writes the branch index', () => {
    const u = ['null', 'long', 'string'];
    expect(encode(u, null)).toEqual([0x00]);
    expect(encode(u, 3)).toEqual([0x02, 0x06]);
    expect(encode(u, 'a')).toEqual([0x04, 0x02, 0x61]);
    expect(roundTrip(u, 7n)).toBe(7n);
    expect(roundTrip(u, null)).toBe(null);
    expect(() => encode(u, true)).toThrow(/matches no branch/);
  });

  it('encodes records, arrays, maps and enums, with defaults for missing fields', () => {
    const schema = {
      type: 'record',
      name: 'r',
      fields: [
        { name: 'a', type: 'int', 'field-id': 1 },
        { name: 'b', type: ['null', 'string'], default: null },
        { name: 'c', type: { type: 'array', items: 'int', 'element-id': 3 } },
        { name: 'd', type: { type: 'map', values: 'long' } },
        { name: 'e', type: { type: 'enum', name: 'E', symbols: ['X', 'Y'] } },
      ],
    };
    expect(encode(schema, { a: 1, c: [1, 2], d: { k: 1 }, e: 'Y' })).toEqual([
      0x02, 0x00, 0x04, 0x02, 0x04, 0x00, 0x02, 0x02, 0x6b, 0x02, 0x00, 0x02,
    ]);
    expect(roundTrip(schema, { a: -5, b: 'x', c: [], d: new Map([['k', 9n]]), e: 'X' })).toEqual({
      a: -5,
      b: 'x',
      c: [],
      d: new Map([['k', 9n]]),
      e: 'X',
    });
    expect(() => encode(schema, { b: null })).toThrow(/\$\.a: missing value/);
  });

  it('resolves named references and recursive records', () => {
    const schema = {
      type: 'record',
      name: 'ns.Node',
      fields: [
        { name: 'id', type: { type: 'fixed', name: 'id16', size: 2 } },
        { name: 'other', type: ['null', 'id16'], default: null },
        { name: 'next', type: ['null', 'Node'], default: null },
      ],
    };
    const v = {
      id: new Uint8Array([1, 2]),
      other: new Uint8Array([3, 4]),
      next: { id: new Uint8Array([5, 6]), other: null, next: null },
    };
    expect(roundTrip(schema, v)).toEqual(v);
  });

  it('rejects values of the wrong type with the path', () => {
    const schema = { type: 'record', name: 'r', fields: [{ name: 'x', type: 'int' }] };
    expect(() => encode(schema, { x: 2 ** 31 })).toThrow('cannot encode $.x: expected an int');
    expect(() => encode('long', 2 ** 60)).toThrow(/expected a long/);
    expect(() => encode({ type: 'fixed', name: 'f', size: 2 }, new Uint8Array(3))).toThrow(
      /2 bytes/,
    );
  });
});

describe('Avro binary decoding', () => {
  it('reads arrays and maps in several blocks, including negative counts with sizes', () => {
    // array<int>: block of -2 items (byte size 2), then a block of 1 item, then 0.
    const arr = new AvroReader(new Uint8Array([0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00]));
    expect(decodeAvro(arr, parseAvroSchema({ type: 'array', items: 'int' }))).toEqual([1, 2, 3]);
    // map<int>: block of -1 entry (size 3: "a", 1), then 0.
    const map = new AvroReader(new Uint8Array([0x01, 0x06, 0x02, 0x61, 0x02, 0x00]));
    expect(decodeAvro(map, parseAvroSchema({ type: 'map', values: 'int' }))).toEqual(
      new Map([['a', 1]]),
    );
  });

  it('fails on truncated data and bad union indexes', () => {
    expect(() => decodeAvro(new AvroReader(new Uint8Array([0x80])), { kind: 'long' })).toThrow(
      /truncated at byte 1/,
    );
    expect(() =>
      decodeAvro(new AvroReader(new Uint8Array([0x04])), parseAvroSchema(['null', 'int'])),
    ).toThrow(/no branch 2/);
  });
});

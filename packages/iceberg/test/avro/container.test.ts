import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readAvroFile, writeAvroFile } from '../../src/avro/container.ts';

const SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    {
      name: 'bounds',
      type: [
        'null',
        {
          type: 'array',
          logicalType: 'map',
          items: {
            type: 'record',
            name: 'k126_v127',
            fields: [
              { name: 'key', type: 'int', 'field-id': 126 },
              { name: 'value', type: 'bytes', 'field-id': 127 },
            ],
          },
        },
      ],
      default: null,
      'field-id': 125,
    },
  ],
};

/** Zig-zag varint of a small non-negative length, as Avro writes it. */
function len(n: number): number[] {
  const out: number[] = [];
  let z = n * 2;
  while (z > 0x7f) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
  return out;
}

const SYNC = new Uint8Array([...Array(16).keys()].map((i) => 0xa0 + i));

describe('Avro container files', () => {
  it('writes the exact framing for a one-record file', () => {
    const schema = { type: 'record', name: 'r', fields: [{ name: 'a', type: 'int' }] };
    const bytes = writeAvroFile(schema, [{ a: 3 }], { syncMarker: SYNC });
    const json = JSON.stringify(schema);
    const expected = [
      ...[0x4f, 0x62, 0x6a, 0x01],
      0x04, // 2 metadata entries
      ...[0x16, ...Buffer.from('avro.schema')],
      ...[...len(json.length), ...Buffer.from(json)],
      ...[0x14, ...Buffer.from('avro.codec')],
      ...[0x08, ...Buffer.from('null')],
      0x00,
      ...SYNC,
      ...[0x02, 0x02, 0x06], // 1 record, 1 byte, a = 3
      ...SYNC,
    ];
    expect([...bytes]).toEqual(expected);
  });

  it('keeps the schema JSON verbatim (field-id, logicalType map) and caller metadata', () => {
    const bytes = writeAvroFile(SCHEMA, [], { metadata: { 'format-version': '2' } });
    const file = readAvroFile(bytes);
    expect(file.metadata).toEqual({
      'avro.schema': JSON.stringify(SCHEMA),
      'avro.codec': 'null',
      'format-version': '2',
    });
    expect(file.schema).toEqual(SCHEMA);
    expect(file.records).toEqual([]);
  });

  for (const codec of ['null', 'deflate'] as const) {
    it(`round-trips many records over many blocks with codec ${codec}`, () => {
      const records = Array.from({ length: 500 }, (_, i) => ({
        manifest_path: `s3://bucket/metadata/${i}-m0.avro`,
        added_snapshot_id: i % 2 === 0 ? 3055729675574597004n : -BigInt(i),
        bounds: i % 3 === 0 ? null : [{ key: i, value: new Uint8Array([i & 0xff, 0, 1]) }],
      }));
      const bytes = writeAvroFile(SCHEMA, records, { codec, blockSize: 1000 });
      const file = readAvroFile(bytes);
      expect(file.metadata['avro.codec']).toBe(codec);
      expect(file.records).toEqual(records);
    });
  }

  it('compresses deflate blocks as raw DEFLATE', () => {
    const schema = { type: 'record', name: 'r', fields: [{ name: 's', type: 'string' }] };
    const bytes = writeAvroFile(schema, [{ s: 'x'.repeat(1000) }], {
      codec: 'deflate',
      syncMarker: SYNC,
    });
    // The single block sits between the header's sync and the final sync.
    const headerEnd = bytes.indexOf(0xaf) + 1;
    const block = bytes.subarray(headerEnd, bytes.length - 16);
    expect(block[0]).toBe(0x02); // one record
    const size = block[1] === undefined ? 0 : block[1] >> 1;
    expect(size).toBeLessThan(64); // one-byte size varint: compressed well below 1000
    const data = inflateRawSync(block.subarray(2, 2 + size));
    expect([...data.subarray(0, 3)]).toEqual([0xd0, 0x0f, 0x78]); // length 1000, "x"
    expect(data.length).toBe(1002);
  });

  it('rejects bad magic, a broken sync marker and unknown codecs', () => {
    expect(() => readAvroFile(new Uint8Array(32))).toThrow(/bad magic/);
    const schema = { type: 'record', name: 'r', fields: [{ name: 'a', type: 'int' }] };
    const bytes = writeAvroFile(schema, [{ a: 1 }], { syncMarker: SYNC });
    const broken = bytes.slice();
    broken[broken.length - 1] = 0;
    expect(() => readAvroFile(broken)).toThrow(/does not end with the sync marker/);
    expect(() => writeAvroFile(schema, [], { codec: 'snappy' as 'null' })).toThrow(
      /codec "snappy" is not supported/,
    );
    expect(() => writeAvroFile(schema, [], { metadata: { 'avro.x': 'y' } })).toThrow(/reserved/);
  });
});

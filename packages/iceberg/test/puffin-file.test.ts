import { describe, expect, it } from 'vitest';
import { IcebergError } from '../src/errors.ts';
import { MemoryFileIO } from '../src/io/memory.ts';
import { compressBlob, decompressBlob, zstdAvailable } from '../src/puffin/compression.ts';
import { encodeDeletionVector } from '../src/puffin/deletion-vector.ts';
import {
  DV_BLOB_TYPE,
  deletionVectorBlob,
  deletionVectorFromBlob,
  ROW_POSITION_FIELD_ID,
  readDeletionVector,
} from '../src/puffin/dv-blob.ts';
import {
  fileMetadataToJson,
  type PuffinBlobMetadata,
  parseFileMetadata,
} from '../src/puffin/format.ts';
import {
  PUFFIN_TAIL_BYTES,
  parsePuffin,
  parsePuffinFooter,
  puffinBlobData,
  readPuffinBlob,
  readPuffinFooter,
} from '../src/puffin/reader.ts';
import { PuffinWriter, writePuffin, writePuffinFile } from '../src/puffin/writer.ts';
import { concat, expectIcebergError, u32 } from './puffin-support.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const MAGIC = utf8('PFA1');

/** A file from hand-made parts: magic, blob bytes, footer magic, payload, size, flags, magic. */
function puffinBytes(blobs: Uint8Array, payload: string, flags = u32(0)): Uint8Array {
  const p = utf8(payload);
  return concat(MAGIC, blobs, MAGIC, p, u32(p.length), flags, MAGIC);
}

/** A FileIO that counts ranged reads. */
class CountingIO extends MemoryFileIO {
  ranges: [number, number][] = [];
  override async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    this.ranges.push([offset, length]);
    return super.readRange(path, offset, length);
  }
}

describe('Puffin files: layout', () => {
  it('writes magic, blobs and a footer with Java-style JSON, byte for byte', () => {
    const file = writePuffin(
      [{ type: 'some-blob', fields: [1, 2], data: utf8('abc'), properties: { k: 'v' } }],
      { properties: { 'created-by': 'test 1.0' } },
    );
    const json =
      '{"blobs":[{"type":"some-blob","fields":[1,2],"snapshot-id":-1,"sequence-number":-1,' +
      '"offset":4,"length":3,"properties":{"k":"v"}}],"properties":{"created-by":"test 1.0"}}';
    expect(file.bytes).toEqual(puffinBytes(utf8('abc'), json));
    expect(file.footerSize).toBe(4 + json.length + 12);
    expect(file.metadata.blobs[0]).toEqual({
      type: 'some-blob',
      fields: [1, 2],
      snapshotId: -1n,
      sequenceNumber: -1n,
      offset: 4,
      length: 3,
      properties: { k: 'v' },
    });
  });

  it('round trips several blobs, big snapshot IDs and file properties', () => {
    const w = new PuffinWriter({ properties: { extra: 'yes' } });
    const a = w.add({
      type: 'apache-datasketches-theta-v1',
      fields: [7],
      snapshotId: 3055729675574597004n,
      sequenceNumber: 12n,
      data: new Uint8Array(1000).fill(9),
      properties: { ndv: '42' },
    });
    const b = w.add({ type: 'x', fields: [], data: new Uint8Array(0) });
    const file = w.finish();
    expect([a.offset, a.length, b.offset, b.length]).toEqual([4, 1000, 1004, 0]);
    const footer = parsePuffin(file.bytes);
    expect(footer.metadata).toEqual(file.metadata);
    expect(footer.metadata.properties).toEqual({ 'created-by': 'kice', extra: 'yes' });
    expect(footer.footerSize).toBe(file.footerSize);
    expect(footer.fileSize).toBe(file.bytes.length);
    expect(puffinBlobData(file.bytes, a)).toEqual(new Uint8Array(1000).fill(9));
    expect(puffinBlobData(file.bytes, b)).toEqual(new Uint8Array(0));
    expect(() => w.add({ type: 'x', fields: [], data: new Uint8Array(0) })).toThrow(/finished/);
    expect(() => w.finish()).toThrow(/finished/);
  });

  it('a file without blobs', () => {
    const file = writePuffin([], { properties: { 'created-by': 'k' } });
    expect(file.bytes).toEqual(
      puffinBytes(new Uint8Array(0), '{"blobs":[],"properties":{"created-by":"k"}}'),
    );
    expect(parsePuffin(file.bytes).metadata).toEqual({
      blobs: [],
      properties: { 'created-by': 'k' },
    });
  });

  it('parses the footer JSON Java writes and writes it back identically', () => {
    const java =
      '{"blobs":[{"type":"deletion-vector-v1","fields":[2147483645],"snapshot-id":-1,' +
      '"sequence-number":-1,"offset":4,"length":8395,"properties":{"referenced-data-file":' +
      '"file:/tmp/w/db/t/data/00000-1-x.parquet","cardinality":"19432"}}],"properties":' +
      '{"created-by":"Apache Iceberg 1.10.1 (commit ccb8bc435062171e64bc8b7e5f56e6aed9c5b934)"}}';
    const m = parseFileMetadata(java);
    expect(m.blobs[0]?.properties.cardinality).toBe('19432');
    expect(m.blobs[0]?.compressionCodec).toBeUndefined();
    expect(fileMetadataToJson(m)).toBe(java);
    // compression-codec and missing properties
    const other = parseFileMetadata(
      '{"blobs":[{"type":"t","fields":[],"snapshot-id":1,"sequence-number":2,"offset":4,"length":1,"compression-codec":"zstd"}]}',
    );
    expect(other).toEqual({
      blobs: [
        {
          type: 't',
          fields: [],
          snapshotId: 1n,
          sequenceNumber: 2n,
          offset: 4,
          length: 1,
          compressionCodec: 'zstd',
          properties: {},
        },
      ],
      properties: {},
    });
  });
});

describe('Puffin files: reading through FileIO', () => {
  it('reads the footer from one ranged read of the tail, then a blob by its range', async () => {
    const io = new CountingIO();
    const data = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const file = await writePuffinFile(io, 'memory://b/f.puffin', [
      { type: 't', fields: [1], data },
    ]);
    const footer = await readPuffinFooter(io, 'memory://b/f.puffin', file.bytes.length);
    expect(footer.metadata).toEqual(file.metadata);
    expect(io.ranges).toEqual([[file.bytes.length - PUFFIN_TAIL_BYTES, PUFFIN_TAIL_BYTES]]);
    const blob = footer.metadata.blobs[0] as PuffinBlobMetadata;
    expect(await readPuffinBlob(io, 'memory://b/f.puffin', blob)).toEqual(data);
    expect(io.ranges[1]).toEqual([4, 100_000]);
  });

  it('reads a footer longer than the first tail read with a second read', async () => {
    const io = new CountingIO();
    const properties = { big: 'x'.repeat(40_000) };
    const file = await writePuffinFile(io, 'memory://b/g.puffin', [], { properties });
    const footer = await readPuffinFooter(io, 'memory://b/g.puffin', file.bytes.length);
    expect(footer.metadata.properties.big).toBe(properties.big);
    expect(io.ranges.length).toBe(2);
  });

  it('reads the whole file when the size is not known', async () => {
    const io = new MemoryFileIO();
    const file = await writePuffinFile(io, 'memory://b/h.puffin', [
      { type: 't', fields: [], data: utf8('z') },
    ]);
    expect((await readPuffinFooter(io, 'memory://b/h.puffin')).metadata).toEqual(file.metadata);
  });

  it('fails clearly when the file is shorter than the size given', async () => {
    const io = new MemoryFileIO();
    const file = await writePuffinFile(io, 'memory://b/i.puffin', []);
    await expect(
      readPuffinFooter(io, 'memory://b/i.puffin', file.bytes.length + 10),
    ).rejects.toThrow(/expected \d+ bytes at 0, the file has \d+ there/);
    await expect(readPuffinFooter(io, 'memory://b/i.puffin', 10)).rejects.toThrow(/too short/);
  });
});

describe('Puffin files: errors', () => {
  const good = writePuffin([{ type: 't', fields: [1], data: utf8('abc') }]).bytes;
  const blob = (over: string) =>
    `{"blobs":[{"type":"t","fields":[1],"snapshot-id":-1,"sequence-number":-1,"offset":4,"length":3${over}}]}`;
  const withPayload = (payload: string) => puffinBytes(utf8('abc'), payload);

  const cases: [string, Uint8Array, string, RegExp][] = [
    ['a file too short', good.subarray(0, 19), 'INVALID_METADATA', /19 bytes is too short/],
    [
      'no magic at the end',
      concat(good, utf8('x')),
      'INVALID_METADATA',
      /no magic "PFA1" at the end/,
    ],
    [
      'no magic at the start',
      concat(utf8('PFA2'), good.subarray(4)),
      'INVALID_METADATA',
      /at the start/,
    ],
    [
      "no magic at the footer's start",
      (() => {
        const b = good.slice();
        b[7] = 0x20; // the footer's first magic follows the 3 blob bytes
        return b;
      })(),
      'INVALID_METADATA',
      /at the footer's start \(byte 7\)/,
    ],
    [
      'an LZ4-compressed footer',
      puffinBytes(utf8('abc'), blob(''), u32(1)),
      'UNSUPPORTED',
      /footer payload is LZ4-compressed, which is not supported/,
    ],
    [
      'an unknown flag',
      puffinBytes(utf8('abc'), blob(''), u32(1 << 17)),
      'UNSUPPORTED',
      /unknown footer flag \(byte 2, bit 1\)/,
    ],
    [
      'a payload size past the file',
      concat(good.subarray(0, good.length - 12), u32(10_000), u32(0), MAGIC),
      'INVALID_METADATA',
      /footer payload size 10000 does not fit/,
    ],
    [
      'a negative payload size',
      concat(good.subarray(0, good.length - 12), u32(0xffffffff), u32(0), MAGIC),
      'INVALID_METADATA',
      /footer payload size -1/,
    ],
    [
      'a payload that is not UTF-8',
      concat(MAGIC, MAGIC, Uint8Array.of(0xff, 0xfe), u32(2), u32(0), MAGIC),
      'INVALID_METADATA',
      /not UTF-8/,
    ],
    ['a payload that is not JSON', withPayload('{"blobs":['), 'INVALID_ARGUMENT', /invalid JSON/],
    ['no blobs', withPayload('{}'), 'INVALID_METADATA', /Puffin footer: blobs: missing/],
    [
      'a blob without type',
      withPayload(blob('').replace('"type":"t",', '')),
      'INVALID_METADATA',
      /blobs\[0\]\.type: missing/,
    ],
    [
      'a field that is no int',
      withPayload(blob('').replace('[1]', '[1.5]')),
      'INVALID_METADATA',
      /blobs\[0\]\.fields\[0\]: expected a 32-bit integer/,
    ],
    [
      'a negative length',
      withPayload(blob('').replace('"length":3', '"length":-3')),
      'INVALID_METADATA',
      /blobs\[0\]\.length: must not be negative/,
    ],
    [
      'no snapshot-id',
      withPayload(blob('').replace('"snapshot-id":-1,', '')),
      'INVALID_METADATA',
      /blobs\[0\]\.snapshot-id: missing/,
    ],
    [
      'a codec that is no string',
      withPayload(blob(',"compression-codec":5')),
      'INVALID_METADATA',
      /compression-codec: expected a string/,
    ],
    [
      'a blob outside the blob area',
      withPayload(blob('').replace('"length":3', '"length":4')),
      'INVALID_METADATA',
      /blob 0 \(t\) at \[4, 8\) is outside the blob area \[4, 7\)/,
    ],
    [
      'a blob over the leading magic',
      withPayload(blob('').replace('"offset":4', '"offset":2').replace('"length":3', '"length":1')),
      'INVALID_METADATA',
      /at \[2, 3\) is outside/,
    ],
  ];
  for (const [name, bytes, code, message] of cases) {
    it(`refuses ${name}`, () => {
      expectIcebergError(() => parsePuffin(bytes), code, message);
    });
  }

  it('parsePuffinFooter needs the whole footer in the tail', () => {
    expectIcebergError(
      () => parsePuffinFooter(good.subarray(good.length - 20), good.length),
      'INVALID_ARGUMENT',
      /the tail given 20/,
    );
  });

  it('refuses bad blobs on write', () => {
    expectIcebergError(
      () => writePuffin([{ type: '', fields: [], data: utf8('') }]),
      'INVALID_ARGUMENT',
      /needs a type/,
    );
    expectIcebergError(
      () => writePuffin([{ type: 't', fields: [2 ** 31], data: utf8('') }]),
      'INVALID_ARGUMENT',
      /field ID 2147483648 is not an int/,
    );
  });
});

describe('Puffin blob compression', () => {
  it('refuses lz4 and codecs the spec does not name, naming them', () => {
    expectIcebergError(
      () => compressBlob('lz4', utf8('a')),
      'UNSUPPORTED',
      /codec "lz4" is not supported/,
    );
    expectIcebergError(() => decompressBlob('lz4', utf8('a')), 'UNSUPPORTED', /codec "lz4"/);
    expectIcebergError(
      () => decompressBlob('snappy', utf8('a')),
      'UNSUPPORTED',
      /codec "snappy" is not a Puffin codec/,
    );
    expectIcebergError(
      () => writePuffin([{ type: 't', fields: [], data: utf8('a'), compressionCodec: 'lz4' }]),
      'UNSUPPORTED',
      /lz4/,
    );
    const lz4 = puffinBytes(
      utf8('abc'),
      '{"blobs":[{"type":"t","fields":[],"snapshot-id":-1,"sequence-number":-1,"offset":4,"length":3,"compression-codec":"lz4"}]}',
    );
    const meta = parsePuffin(lz4).metadata.blobs[0] as PuffinBlobMetadata;
    expectIcebergError(() => puffinBlobData(lz4, meta), 'UNSUPPORTED', /lz4/);
  });

  it('uncompressed blobs pass through', () => {
    const data = utf8('plain');
    expect(compressBlob(undefined, data)).toBe(data);
    expect(decompressBlob(undefined, data)).toBe(data);
  });

  // Node.js has zstd in node:zlib from 22.15 on; on older runtimes zstd is refused.
  if (zstdAvailable()) {
    it('zstd round trips through a file (this runtime has zstd)', () => {
      const data = new Uint8Array(50_000).map((_, i) => i % 7);
      const file = writePuffin([{ type: 't', fields: [], data, compressionCodec: 'zstd' }]);
      const meta = parsePuffin(file.bytes).metadata.blobs[0] as PuffinBlobMetadata;
      expect(meta.compressionCodec).toBe('zstd');
      expect(meta.length).toBeLessThan(data.length);
      expect(puffinBlobData(file.bytes, meta)).toEqual(data);
      expectIcebergError(
        () => decompressBlob('zstd', utf8('not zstd')),
        'INVALID_METADATA',
        /bad zstd data/,
      );
    });
  } else {
    it('zstd is refused, naming the codec and the runtime (this runtime has no zstd)', () => {
      expectIcebergError(
        () => writePuffin([{ type: 't', fields: [], data: utf8('a'), compressionCodec: 'zstd' }]),
        'UNSUPPORTED',
        /codec "zstd" needs zstd in node:zlib \(Node\.js 22\.15\+\), not in v\d+/,
      );
      expectIcebergError(() => decompressBlob('zstd', utf8('a')), 'UNSUPPORTED', /zstd/);
    });
  }
});

describe('deletion vector blobs in Puffin files', () => {
  const dataFile = 's3://bucket/t/data/00000-0-a.parquet';

  it('records what Java records: type, the _pos field, -1 IDs, referenced file and cardinality', () => {
    const b = deletionVectorBlob(dataFile, [3, 1, 2, 3]);
    expect(b).toEqual({
      type: DV_BLOB_TYPE,
      fields: [ROW_POSITION_FIELD_ID],
      snapshotId: -1n,
      sequenceNumber: -1n,
      data: encodeDeletionVector([1, 2, 3]),
      properties: { 'referenced-data-file': dataFile, cardinality: '3' },
    });
    expect(ROW_POSITION_FIELD_ID).toBe(2 ** 31 - 1 - 2);
    const file = writePuffin([b], { properties: { 'created-by': 'x' } });
    const json = new TextDecoder().decode(file.bytes.subarray(4 + b.data.length + 4, -12));
    expect(json).toBe(
      `{"blobs":[{"type":"deletion-vector-v1","fields":[2147483645],"snapshot-id":-1,"sequence-number":-1,"offset":4,"length":${b.data.length},"properties":{"referenced-data-file":"${dataFile}","cardinality":"3"}}],"properties":{"created-by":"x"}}`,
    );
  });

  it('decodes a DV through the footer and checks its metadata', () => {
    const file = writePuffin([
      deletionVectorBlob(dataFile, [5, 6]),
      deletionVectorBlob('other', [1]),
    ]);
    const [m0, m1] = parsePuffin(file.bytes).metadata.blobs as PuffinBlobMetadata[];
    const dv = deletionVectorFromBlob(
      m0 as PuffinBlobMetadata,
      puffinBlobData(file.bytes, m0 as PuffinBlobMetadata),
      dataFile,
    );
    expect(Array.from(dv.positions())).toEqual([5, 6]);
    const data1 = puffinBlobData(file.bytes, m1 as PuffinBlobMetadata);
    const m = m1 as PuffinBlobMetadata;
    const bad: [PuffinBlobMetadata, RegExp][] = [
      [{ ...m, type: 'apache-datasketches-theta-v1' }, /type is "apache-datasketches-theta-v1"/],
      [{ ...m, compressionCodec: 'zstd' }, /is compressed \(zstd\); a DV must not be/],
      [{ ...m, properties: { cardinality: '1' } }, /has no referenced-data-file property/],
      [
        { ...m, properties: { 'referenced-data-file': 'other' } },
        /cardinality property is missing/,
      ],
      [
        { ...m, properties: { 'referenced-data-file': 'other', cardinality: '-1' } },
        /cardinality property is "-1"/,
      ],
      [
        { ...m, properties: { 'referenced-data-file': 'other', cardinality: '2' } },
        /holds 1 positions, the delete file says 2/,
      ],
    ];
    for (const [meta, message] of bad) {
      expectIcebergError(() => deletionVectorFromBlob(meta, data1), 'INVALID_METADATA', message);
    }
    expectIcebergError(
      () => deletionVectorFromBlob(m, data1, dataFile),
      'INVALID_METADATA',
      /references other, not s3:/,
    );
  });

  it('reads a DV by the offset and size a manifest entry gives (no footer read)', async () => {
    const io = new CountingIO();
    const file = await writePuffinFile(io, 'memory://b/dv.puffin', [
      deletionVectorBlob('a', [1]),
      deletionVectorBlob(dataFile, [0, 2 ** 32, 2 ** 32 + 1]),
    ]);
    const m = file.metadata.blobs[1] as PuffinBlobMetadata;
    const dv = await readDeletionVector(io, {
      filePath: 'memory://b/dv.puffin',
      contentOffset: m.offset,
      contentSizeInBytes: m.length,
      recordCount: 3n,
    });
    expect(Array.from(dv.positions())).toEqual([0, 2 ** 32, 2 ** 32 + 1]);
    expect(io.ranges).toEqual([[m.offset, m.length]]);
    await expect(
      readDeletionVector(io, {
        filePath: 'memory://b/dv.puffin',
        contentOffset: m.offset,
        contentSizeInBytes: m.length,
        recordCount: 4,
      }),
    ).rejects.toThrow(
      /deletion vector memory:\/\/b\/dv\.puffin@\d+: holds 3 positions, the delete file says 4/,
    );
    const err = await readDeletionVector(io, {
      filePath: 'memory://b/dv.puffin',
      contentOffset: m.offset - 1,
      contentSizeInBytes: m.length,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IcebergError);
    expect((err as IcebergError).message).toMatch(/length field says/);
  });
});

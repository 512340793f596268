import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { lz4Codec, registerCodecs, snappyCodec, zstdCodec } from '../../src/source/codecs.ts';

// Frames made with python-zstandard 0.25.0 (the repo's .venv):
//   ZstdCompressor(level=3).compress(b'kice zstd frame: ' + b'abc' * 20)
//   ZstdCompressor(level=1, write_content_size=False).compress(b'second frame\x00\xff')
const FRAME_WITH_SIZE = Buffer.from(
  '28b52ffd204dd50000a06b696365207a737464206672616d653a206162630100ece998',
  'hex',
);
const FRAME_WITHOUT_SIZE = Buffer.from('28b52ffd00007100007365636f6e64206672616d6500ff', 'hex');

describe('zstd codec', () => {
  it('decompresses a frame with a content size', async () => {
    const out = await zstdCodec.decompress(FRAME_WITH_SIZE);
    expect(Buffer.isBuffer(out)).toBe(true);
    expect(out.toString('latin1')).toBe(`kice zstd frame: ${'abc'.repeat(20)}`);
  });

  it('decompresses concatenated frames, one without a content size', async () => {
    const out = await zstdCodec.decompress(Buffer.concat([FRAME_WITH_SIZE, FRAME_WITHOUT_SIZE]));
    expect(out).toEqual(
      Buffer.concat([
        Buffer.from(`kice zstd frame: ${'abc'.repeat(20)}`),
        Buffer.from('second frame\x00\xff', 'latin1'),
      ]),
    );
  });

  it('rejects corrupt input with a KAFKA KiceError', async () => {
    await expect(zstdCodec.decompress(Buffer.from([1, 2, 3, 4, 5]))).rejects.toMatchObject({
      name: 'KiceError',
      code: 'KAFKA',
    });
  });

  it('rejects compression as not supported', async () => {
    await expect(zstdCodec.compress({ buffer: Buffer.from('x') })).rejects.toThrow(
      'zstd compression is not supported by kice',
    );
  });
});

describe('snappy and lz4 codecs', () => {
  const input = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 7));

  it('snappy round-trips and decodes the xerial framing', async () => {
    const raw = await snappyCodec.compress({ buffer: input });
    expect(await snappyCodec.decompress(raw)).toEqual(input);
    // xerial: magic, version 1, compatible 1, then [int32 length][snappy block] chunks
    const header = Buffer.from([130, 83, 78, 65, 80, 80, 89, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(raw.length);
    expect(await snappyCodec.decompress(Buffer.concat([header, len, raw, len, raw]))).toEqual(
      Buffer.concat([input, input]),
    );
  });

  it('lz4 round-trips a frame', async () => {
    const frame = await lz4Codec.compress({ buffer: input });
    expect(frame.readUInt32LE(0)).toBe(0x184d2204); // LZ4 frame magic
    expect(await lz4Codec.decompress(frame)).toEqual(input);
  });
});

describe('registerCodecs', () => {
  it('puts snappy, lz4 and zstd into kafkajs and leaves gzip', () => {
    const { CompressionCodecs, CompressionTypes } = kafkajs;
    const gzip = CompressionCodecs[CompressionTypes.GZIP];
    registerCodecs();
    registerCodecs();
    expect(CompressionCodecs[CompressionTypes.Snappy]()).toBe(snappyCodec);
    expect(CompressionCodecs[CompressionTypes.LZ4]()).toBe(lz4Codec);
    expect(CompressionCodecs[CompressionTypes.ZSTD]()).toBe(zstdCodec);
    expect(CompressionCodecs[CompressionTypes.GZIP]).toBe(gzip);
  });
});

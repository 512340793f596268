/**
 * Decompressing the records section of a Kafka record batch, synchronously, in the thread
 * that parses it (a worker). The codec is attribute bits 0-2 of the batch
 * (https://kafka.apache.org/documentation/#recordbatch):
 * - 1 gzip: node:zlib (concatenated members too);
 * - 2 snappy: snappyjs on raw snappy blocks; the Java client wraps them in the xerial
 *   stream framing (an 8-byte magic, two int32 versions, then int32-length-prefixed
 *   blocks), which is unwrapped here; librdkafka may send either;
 * - 3 lz4: the LZ4 frame format (magic 0x184D2204), lz4-napi;
 * - 4 zstd: one or more Zstandard frames, fzstd (pure JS).
 * Errors are thrown as they come; the parser wraps them with the batch's position.
 */
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { uncompress(b: Uint8Array): Uint8Array };
const lz4 = require('lz4-napi') as { decompressFrameSync(b: Buffer): Buffer };

/** Codec names by attribute value, for messages. */
export const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** The xerial snappy stream magic: 0x82 "SNAPPY" 0x00. */
const XERIAL = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A Buffer's bytes as a plain Uint8Array (its slices are then plain copies, not Buffers). */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function isXerial(b: Uint8Array): boolean {
  if (b.length < 16) return false;
  for (let i = 0; i < 8; i++) if (b[i] !== XERIAL[i]) return false;
  return true;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function unsnappy(b: Uint8Array): Uint8Array {
  if (!isXerial(b)) return snappy.uncompress(b);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: Uint8Array[] = [];
  let at = 16;
  while (at < b.length) {
    if (at + 4 > b.length) throw new Error('xerial snappy: truncated block length');
    const len = view.getInt32(at);
    at += 4;
    if (len < 0 || at + len > b.length) throw new Error('xerial snappy: block overruns the data');
    parts.push(snappy.uncompress(b.subarray(at, at + len)));
    at += len;
  }
  return concat(parts);
}

/** The decompressed bytes of `data` in codec `codec` (1-4). Throws on an unknown codec or bad data. */
export function decompress(codec: number, data: Uint8Array): Uint8Array {
  switch (codec) {
    case 1:
      return plain(gunzipSync(asBuffer(data)));
    case 2:
      return unsnappy(data);
    case 3:
      return plain(lz4.decompressFrameSync(asBuffer(data)));
    case 4:
      return zstdDecompress(data);
    default:
      throw new Error(`unknown compression codec ${codec}`);
  }
}

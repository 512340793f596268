/**
 * Puffin blob compression codecs.
 *
 * Spec: https://iceberg.apache.org/puffin-spec/#compression-codecs
 * - Absent codec: uncompressed (always supported).
 * - `zstd`: one Zstandard frame with the content size in its header. Supported where the
 *   Node.js runtime has zstd in node:zlib (22.15 and later; @kice/iceberg has no zstd
 *   dependency); elsewhere IcebergError('UNSUPPORTED') naming the codec and runtime.
 * - `lz4`: one LZ4 frame. Not supported (no LZ4 frame codec is a dependency; Iceberg Java
 *   1.10 cannot read or write it either): IcebergError('UNSUPPORTED').
 * - Any other name: IcebergError('UNSUPPORTED') naming it (the spec allows no others).
 */
import * as zlib from 'node:zlib';
import { IcebergError } from '../errors.ts';

/** The codec names the spec defines. */
export type PuffinCompressionCodec = 'lz4' | 'zstd';

interface ZstdZlib {
  zstdCompressSync?: (data: Uint8Array, options?: { pledgedSrcSize?: number }) => Uint8Array;
  zstdDecompressSync?: (data: Uint8Array) => Uint8Array;
}
const zstd = zlib as unknown as ZstdZlib;

/** Whether this runtime can compress and decompress `zstd` blobs. */
export function zstdAvailable(): boolean {
  return (
    typeof zstd.zstdCompressSync === 'function' && typeof zstd.zstdDecompressSync === 'function'
  );
}

function unsupported(codec: string, why: string): never {
  throw new IcebergError('UNSUPPORTED', `Puffin compression codec "${codec}" ${why}`, {
    context: { codec },
  });
}

function checkCodec(codec: string): void {
  if (codec === 'lz4') unsupported(codec, 'is not supported (no LZ4 frame codec)');
  if (codec !== 'zstd') unsupported(codec, 'is not a Puffin codec (lz4 or zstd)');
  if (!zstdAvailable()) {
    unsupported(codec, `needs zstd in node:zlib (Node.js 22.15+), not in ${process.version}`);
  }
}

/** `data` compressed with `codec` (undefined: as is). */
export function compressBlob(codec: string | undefined, data: Uint8Array): Uint8Array {
  if (codec === undefined) return data;
  checkCodec(codec);
  const out = (zstd.zstdCompressSync as NonNullable<ZstdZlib['zstdCompressSync']>)(data, {
    pledgedSrcSize: data.length,
  });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** `data` as stored with `codec` (undefined: uncompressed), decompressed. */
export function decompressBlob(codec: string | undefined, data: Uint8Array): Uint8Array {
  if (codec === undefined) return data;
  checkCodec(codec);
  try {
    const out = (zstd.zstdDecompressSync as NonNullable<ZstdZlib['zstdDecompressSync']>)(data);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (cause) {
    throw new IcebergError('INVALID_METADATA', `Puffin blob: bad zstd data: ${String(cause)}`, {
      cause,
    });
  }
}

/**
 * 64-bit Roaring bitmaps in the "portable" serialization: the bitmap inside a
 * deletion-vector-v1 blob (./deletion-vector.ts).
 *
 * Spec: https://github.com/RoaringBitmap/RoaringFormatSpec#extension-for-64-bit-implementations
 * and https://iceberg.apache.org/puffin-spec/#deletion-vector-v1-blob-type
 * - The bucket count as a little-endian uint64, then per bucket, by ascending key: the key
 *   (the high 32 bits of its values) as a little-endian uint32 and a 32-bit Roaring bitmap
 *   of the low 32 bits (./roaring.ts).
 * - Iceberg positions have their most significant bit clear: keys are below 2^31.
 *
 * Writing emits what Iceberg Java's RoaringPositionBitmap emits: one bucket for every key
 * from 0 to the largest, an empty bitmap (8 bytes) for keys without values. Reading
 * accepts that and sparse bucket lists alike (keys strictly ascending) and keeps only the
 * non-empty buckets.
 */
import { IcebergError } from '../errors.ts';
import { Roaring32 } from './roaring.ts';

/** A non-empty bucket: `key` is the high 32 bits of its values. */
export interface Bucket {
  readonly key: number;
  readonly bitmap: Roaring32;
}

/** Largest key: positions are below 2^63. */
export const MAX_KEY = 0x7fffffff;

/** Serialized size of `buckets` (ascending, non-empty) with Java's gap buckets. */
export function portable64Size(buckets: readonly Bucket[]): number {
  const last = buckets.at(-1);
  if (!last) return 8;
  const emptySize = Roaring32.EMPTY.serializedSize;
  let size = 8 + (last.key + 1 - buckets.length) * (4 + emptySize);
  for (const b of buckets) size += 4 + b.bitmap.serializedSize;
  return size;
}

/** Writes `buckets` (ascending, non-empty) at `at`; returns the end. */
export function writePortable64(buckets: readonly Bucket[], out: Uint8Array, at: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const count = buckets.length === 0 ? 0 : (buckets.at(-1) as Bucket).key + 1;
  view.setUint32(at, count, true);
  view.setUint32(at + 4, 0, true);
  let p = at + 8;
  let next = 0;
  for (const b of buckets) {
    for (; next < b.key; next++) {
      view.setUint32(p, next, true);
      p = Roaring32.EMPTY.write(out, p + 4);
    }
    view.setUint32(p, b.key, true);
    p = b.bitmap.write(out, p + 4);
    next = b.key + 1;
  }
  return p;
}

/**
 * Reads a portable 64-bit bitmap that must fill `bytes[at..end)` exactly; returns its
 * non-empty buckets. Throws IcebergError('INVALID_METADATA') naming `what`.
 */
export function readPortable64(bytes: Uint8Array, at: number, end: number, what: string): Bucket[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = at;
  const fail = (msg: string): never => {
    throw new IcebergError('INVALID_METADATA', `${what}: ${msg} (at byte ${p})`, {
      context: { offset: p },
    });
  };
  if (end - p < 8) fail(`truncated bucket count: needs 8 bytes, ${end - p} left`);
  const low = view.getUint32(p, true);
  const high = view.getUint32(p + 4, true);
  // Each bucket takes at least 12 bytes (key + empty bitmap).
  if (high !== 0 || low > (end - p - 8) / 12) {
    fail(
      `bucket count ${BigInt(high) * 2n ** 32n + BigInt(low)} does not fit in ${end - p - 8} bytes`,
    );
  }
  p += 8;
  const buckets: Bucket[] = [];
  let last = -1;
  for (let i = 0; i < low; i++) {
    if (end - p < 4) fail(`truncated bucket key: needs 4 bytes, ${end - p} left`);
    const key = view.getUint32(p, true);
    if (key > MAX_KEY) fail(`bucket key ${key} has the sign bit set (positions are below 2^63)`);
    if (key <= last) fail(`bucket keys are not strictly ascending (${last}, ${key})`);
    const read = Roaring32.read(bytes, p + 4, end, `${what}, bucket ${key}`);
    if (read.bitmap.cardinality > 0) buckets.push({ key, bitmap: read.bitmap });
    last = key;
    p = read.end;
  }
  if (p !== end) fail(`${end - p} bytes follow the bitmap`);
  return buckets;
}

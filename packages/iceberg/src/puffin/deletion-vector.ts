/**
 * The bytes of a Puffin `deletion-vector-v1` blob: the deleted row positions of one data
 * file (Iceberg v3 deletion vectors).
 *
 * Spec: https://iceberg.apache.org/puffin-spec/#deletion-vector-v1-blob-type and
 * https://iceberg.apache.org/spec/#deletion-vectors
 *
 *   length    4 bytes, big-endian: the byte length of magic + bitmap
 *   magic     D1 D3 39 64
 *   bitmap    a 64-bit Roaring bitmap, portable serialization (./roaring64.ts)
 *   crc       4 bytes, big-endian: CRC-32 (zlib's, as java.util.zip.CRC32) of magic + bitmap
 *
 * A set bit at P means the row at 0-based position P of the data file is deleted;
 * positions are in [0, 2^63).
 *
 * `encodeDeletionVector` writes the bytes Iceberg Java 1.10's BitmapPositionDeleteIndex
 * writes for the same positions when it built its bitmap by adding them (its DV writer
 * does, then run-optimizes before serializing): Java's containers (./roaring.ts) and
 * Java's bucket layout (every key from 0 up, ./roaring64.ts). The blob's length field is
 * 4 bytes and Java refuses blobs over 2 GiB, so does this encoder (that bounds the
 * largest position near 7.7 × 10^17, as each 2^32 positions below it cost an empty
 * bucket of 12 bytes).
 *
 * `decodeDeletionVector` checks, in order: the length field against the blob's size, the
 * magic, the CRC, then the bitmap's structure (truncation, ordering, cardinalities), and
 * optionally the cardinality against the delete file's record_count, as Java does.
 * Errors are IcebergError('INVALID_METADATA'); bad input to the encoder is
 * IcebergError('INVALID_ARGUMENT').
 */
import { crc32 } from 'node:zlib';
import { IcebergError } from '../errors.ts';
import { Roaring32 } from './roaring.ts';
import { type Bucket, portable64Size, readPortable64, writePortable64 } from './roaring64.ts';

/** The magic bytes after the length field. */
export const DV_MAGIC = Uint8Array.of(0xd1, 0xd3, 0x39, 0x64);

/** A row position: a safe non-negative integer number, or a bigint in [0, 2^63). */
export type RowPosition = number | bigint;

const TWO_32 = 2 ** 32;
/** Java: "Can't serialize index > 2GB" (the whole blob, length and CRC included). */
const MAX_BLOB_BYTES = 2 ** 31 - 1;
/** Keys up to this many have all their positions below 2^53. */
const MAX_SAFE_KEY = 2 ** 21 - 1;

/** The deleted positions of one data file, decoded from (or encoded to) a DV blob. */
export class DeletionVector {
  /** Number of deleted positions. */
  readonly cardinality: number;
  private readonly keys: Uint32Array;

  /** @internal Buckets ascending by key, all non-empty. */
  constructor(private readonly buckets: readonly Bucket[]) {
    this.keys = Uint32Array.from(buckets, (b) => b.key);
    let n = 0;
    for (const b of buckets) n += b.bitmap.cardinality;
    this.cardinality = n;
  }

  /** A vector of the given positions (any order; repeats count once). */
  static of(positions: Iterable<RowPosition>): DeletionVector {
    return new DeletionVector(toBuckets(positions));
  }

  /** Whether row `pos` is deleted (false for anything that is not a valid position). */
  has(pos: RowPosition): boolean {
    let key: number;
    let low: number;
    if (typeof pos === 'number') {
      if (!Number.isSafeInteger(pos) || pos < 0) return false;
      key = Math.floor(pos / TWO_32);
      low = pos - key * TWO_32;
    } else {
      if (pos < 0n || pos >= 2n ** 63n) return false;
      key = Number(pos >> 32n);
      low = Number(pos & 0xffffffffn);
    }
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = keys[mid] as number;
      if (k < key) lo = mid + 1;
      else if (k > key) hi = mid - 1;
      else return (this.buckets[mid] as Bucket).bitmap.has(low);
    }
    return false;
  }

  /**
   * The positions, ascending, as numbers. Throws IcebergError('UNSUPPORTED') if one is
   * 2^53 or more (use `bigintPositions`).
   */
  positions(): Float64Array {
    const out = new Float64Array(this.cardinality);
    let i = 0;
    for (const { key, bitmap } of this.buckets) {
      if (key > MAX_SAFE_KEY) {
        throw new IcebergError(
          'UNSUPPORTED',
          `deletion vector holds positions of 2^53 or more (bucket ${key}): use bigintPositions()`,
        );
      }
      const base = key * TWO_32;
      bitmap.forEach((low) => {
        out[i++] = base + low;
      });
    }
    return out;
  }

  /** The positions, ascending, as bigints. */
  bigintPositions(): BigInt64Array {
    const out = new BigInt64Array(this.cardinality);
    let i = 0;
    for (const { key, bitmap } of this.buckets) {
      const base = BigInt(key) << 32n;
      bitmap.forEach((low) => {
        out[i++] = base | BigInt(low);
      });
    }
    return out;
  }

  /** The deletion-vector-v1 blob bytes (module comment). */
  serialize(): Uint8Array {
    const bitmapBytes = portable64Size(this.buckets);
    const dataLength = DV_MAGIC.length + bitmapBytes;
    if (4 + dataLength + 4 > MAX_BLOB_BYTES) {
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `deletion vector would take ${4 + dataLength + 4} bytes: over the 2 GiB a DV blob may have (largest position too large?)`,
      );
    }
    const out = new Uint8Array(4 + dataLength + 4);
    const view = new DataView(out.buffer);
    view.setUint32(0, dataLength, false);
    out.set(DV_MAGIC, 4);
    const end = writePortable64(this.buckets, out, 8);
    if (end !== 4 + dataLength) throw new Error(`DV size ${end - 4} != ${dataLength}`); // a bug
    view.setUint32(end, crc32(out.subarray(4, end)), false);
    return out;
  }
}

/** The deletion-vector-v1 blob of `positions` (any order; repeats count once). */
export function encodeDeletionVector(positions: Iterable<RowPosition>): Uint8Array {
  return DeletionVector.of(positions).serialize();
}

export interface DecodeDeletionVectorOptions {
  /** The delete file's record_count: the decoded cardinality must equal it. */
  readonly cardinality?: number | bigint;
  /** Names the blob in error messages (e.g. the Puffin file and offset). */
  readonly source?: string;
}

/** Decodes a deletion-vector-v1 blob (module comment for what is checked). */
export function decodeDeletionVector(
  blob: Uint8Array,
  options: DecodeDeletionVectorOptions = {},
): DeletionVector {
  const what = options.source ? `deletion vector ${options.source}` : 'deletion vector';
  const fail = (msg: string, context: Record<string, unknown> = {}): never => {
    throw new IcebergError('INVALID_METADATA', `${what}: ${msg}`, { context });
  };
  if (blob.length < 12) fail(`${blob.length} bytes is too short for a blob (at least 12)`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const dataLength = view.getUint32(0, false);
  if (dataLength + 8 !== blob.length) {
    fail(
      `length field says ${dataLength} bytes of magic + bitmap, so ${dataLength + 8} in all, but the blob has ${blob.length}`,
      { dataLength, blobLength: blob.length },
    );
  }
  for (let i = 0; i < DV_MAGIC.length; i++) {
    if (blob[4 + i] !== DV_MAGIC[i]) {
      fail(`bad magic ${hex(blob.subarray(4, 8))}, expected ${hex(DV_MAGIC)}`);
    }
  }
  const end = 4 + dataLength;
  const stored = view.getUint32(end, false);
  const computed = crc32(blob.subarray(4, end));
  if (stored !== computed) {
    fail(`CRC-32 mismatch: stored ${hex32(stored)}, computed ${hex32(computed)}`, {
      stored,
      computed,
    });
  }
  const dv = new DeletionVector(readPortable64(blob, 8, end, what));
  if (options.cardinality !== undefined && BigInt(dv.cardinality) !== BigInt(options.cardinality)) {
    fail(`holds ${dv.cardinality} positions, the delete file says ${options.cardinality}`);
  }
  return dv;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ');
}

function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

/** Splits, sorts and de-duplicates positions into buckets of low 32-bit values. */
function toBuckets(positions: Iterable<RowPosition>): Bucket[] {
  const keys: number[] = [];
  const lows: number[] = [];
  let sorted = true;
  let i = 0;
  for (const pos of positions) {
    let key: number;
    let low: number;
    if (typeof pos === 'number') {
      if (!Number.isSafeInteger(pos) || pos < 0) badPosition(pos, i);
      key = Math.floor(pos / TWO_32);
      low = pos - key * TWO_32;
    } else if (typeof pos === 'bigint') {
      if (pos < 0n || pos >= 2n ** 63n) badPosition(pos, i);
      key = Number(pos >> 32n);
      low = Number(pos & 0xffffffffn);
    } else {
      return badPosition(pos, i);
    }
    const n = keys.length;
    if (sorted && n > 0) {
      const pk = keys[n - 1] as number;
      if (key < pk || (key === pk && low <= (lows[n - 1] as number))) sorted = false;
    }
    keys.push(key);
    lows.push(low);
    i++;
  }
  let k = keys;
  let l = lows;
  if (!sorted) {
    const order = Array.from(keys, (_, j) => j).sort(
      (a, b) =>
        (keys[a] as number) - (keys[b] as number) || (lows[a] as number) - (lows[b] as number),
    );
    k = [];
    l = [];
    for (const j of order) {
      const key = keys[j] as number;
      const low = lows[j] as number;
      const n = k.length;
      if (n > 0 && k[n - 1] === key && l[n - 1] === low) continue;
      k.push(key);
      l.push(low);
    }
  }
  const buckets: Bucket[] = [];
  let start = 0;
  while (start < k.length) {
    const key = k[start] as number;
    let stop = start + 1;
    while (stop < k.length && k[stop] === key) stop++;
    buckets.push({ key, bitmap: Roaring32.fromSorted(l, start, stop) });
    start = stop;
  }
  return buckets;
}

function badPosition(pos: unknown, index: number): never {
  throw new IcebergError(
    'INVALID_ARGUMENT',
    `row position #${index} (${String(pos)}) is not an integer in [0, 2^63)`,
    { context: { index } },
  );
}

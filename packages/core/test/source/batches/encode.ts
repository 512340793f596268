/**
 * A test-only writer of Kafka v2 record batches (https://kafka.apache.org/documentation/#recordbatch),
 * for building inputs the parser's unit tests check field by field. The interop tests use
 * batches that real producers framed; this writer only makes the odd cases easy to state.
 */
import { gzipSync } from 'node:zlib';
import { crc32c } from '../../../src/source/batches/crc32c.ts';

export interface TestRecord {
  readonly offsetDelta: number;
  readonly timestampDelta?: number;
  readonly key?: Uint8Array | string | null;
  readonly value: Uint8Array | string | null;
  readonly headers?: readonly { key: string; value: Uint8Array | string | null }[];
}

export interface TestBatch {
  readonly baseOffset: bigint;
  readonly records: readonly TestRecord[];
  /** Default: the last record's offset delta. */
  readonly lastOffsetDelta?: number;
  readonly baseTimestamp?: number;
  readonly maxTimestamp?: number;
  readonly logAppendTime?: boolean;
  readonly transactional?: boolean;
  readonly control?: boolean;
  readonly producerId?: bigint;
  /** Attribute codec bits and the compressor for the records section. */
  readonly codec?: number;
  readonly compress?: (b: Uint8Array) => Uint8Array;
}

const utf8 = new TextEncoder();
const bytesOf = (v: Uint8Array | string): Uint8Array =>
  typeof v === 'string' ? utf8.encode(v) : v;

/** Zigzag varint (numbers up to 2^53 in magnitude). */
export function zigzag(v: number): number[] {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z % 128) | 0x80);
    z = Math.floor(z / 128);
  }
  out.push(z);
  return out;
}

function field(out: number[], v: Uint8Array | string | null | undefined): void {
  if (v == null) {
    out.push(...zigzag(-1));
    return;
  }
  const b = bytesOf(v);
  out.push(...zigzag(b.length), ...b);
}

export function encodeRecord(r: TestRecord): number[] {
  const body: number[] = [0, ...zigzag(r.timestampDelta ?? 0), ...zigzag(r.offsetDelta)];
  field(body, r.key);
  field(body, r.value);
  const hs = r.headers ?? [];
  body.push(...zigzag(hs.length));
  for (const h of hs) {
    field(body, h.key);
    field(body, h.value);
  }
  return [...zigzag(body.length), ...body];
}

/** One batch's bytes, CRC included. */
export function encodeBatch(b: TestBatch): Uint8Array {
  let records: Uint8Array = new Uint8Array(b.records.flatMap(encodeRecord));
  if (b.compress) records = b.compress(records);
  const out = new Uint8Array(61 + records.length);
  const v = new DataView(out.buffer);
  v.setBigInt64(0, b.baseOffset);
  v.setInt32(8, out.length - 12);
  v.setInt32(12, 0); // partition leader epoch
  out[16] = 2;
  const attributes =
    (b.codec ?? 0) |
    (b.logAppendTime ? 0x08 : 0) |
    (b.transactional ? 0x10 : 0) |
    (b.control ? 0x20 : 0);
  v.setInt16(21, attributes);
  v.setInt32(23, b.lastOffsetDelta ?? b.records.at(-1)?.offsetDelta ?? 0);
  v.setBigInt64(27, BigInt(b.baseTimestamp ?? 0));
  v.setBigInt64(35, BigInt(b.maxTimestamp ?? b.baseTimestamp ?? 0));
  v.setBigInt64(43, b.producerId ?? -1n);
  v.setInt16(51, b.producerId === undefined ? -1 : 0);
  v.setInt32(53, -1);
  v.setInt32(57, b.records.length);
  out.set(records, 61);
  v.setUint32(17, crc32c(out, 21, out.length));
  return out;
}

/** A control batch (ABORT or COMMIT marker) of `producerId` at `offset`. */
export function marker(offset: bigint, producerId: bigint, commit: boolean): Uint8Array {
  return encodeBatch({
    baseOffset: offset,
    transactional: true,
    control: true,
    producerId,
    records: [
      {
        offsetDelta: 0,
        key: new Uint8Array([0, 0, 0, commit ? 1 : 0]),
        value: new Uint8Array([0, 0, 0, 0, 0, 0]),
      },
    ],
  });
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The bytes copied into a SharedArrayBuffer, as a fetch hands them to a worker. */
export function shared(b: Uint8Array): Uint8Array {
  const s = new Uint8Array(new SharedArrayBuffer(b.length));
  s.set(b);
  return s;
}

export const gzip = (b: Uint8Array): Uint8Array => gzipSync(b);

/**
 * A Zstandard frame with one raw (stored) block, written by hand (RFC 8878): no JS zstd
 * compressor is a dependency, and the interop test covers real compressed frames.
 * Data up to 2^21 - 1 bytes (one block).
 */
export function zstdRaw(b: Uint8Array): Uint8Array {
  const head = [0x28, 0xb5, 0x2f, 0xfd, 0xa0]; // magic; single segment, 4-byte content size
  const size = [b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24];
  const block = 1 | (b.length << 3); // last block, raw, size
  return concatBytes(
    Uint8Array.from([...head, ...size, block & 0xff, (block >> 8) & 0xff, (block >> 16) & 0xff]),
    b,
  );
}

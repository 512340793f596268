/**
 * Avro binary encoding, read straight into the decoder's columns (decode/columns.ts): the
 * primitives the generated record appenders (avro-appender.ts) call, one reader per batch.
 * Spec: https://avro.apache.org/docs/1.12.0/specification/#binary-encoding
 *
 * - int, long: zigzag varints of at most 5 / 10 bytes; a long is exact over all 64 bits
 *   (`long()` returns a safe integer, or NaN with the exact value in `big`).
 * - float, double: 4 / 8 bytes little-endian IEEE 754; boolean: one byte 0 or 1.
 * - bytes, string: a long length then the bytes; strings must be valid UTF-8 (copied as
 *   they are, never decoded to JS strings).
 * - fixed: exactly its size in bytes; enum: an int index; union: an int branch index.
 * - array / map blocks: a long count, and for a negative count its absolute value followed
 *   by the block's byte size (read and ignored); a zero count ends the blocks.
 * - decimal: big-endian two's complement (bytes or fixed) → Arrow Decimal128 (16 bytes LE).
 *
 * A read past the record's end throws DECODE_FAILED "truncated Avro payload: N bytes end
 * inside the datum" (N = the payload's size); a value the spec does not allow (a boolean
 * byte 2, a branch index out of range, a negative length, a 6-byte int) throws
 * "corrupt Avro payload: …", naming the field where one is known.
 */
import type { BytesColumn, FixedColumn, Int64Column, NumberColumn } from '../decode/columns.ts';
import { KiceError } from '../errors.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Hex digit value of an ASCII code, or -1. */
function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** The largest byte count whose two's complement values all have at most `p` digits. */
function safeDecimalBytes(p: number): number {
  let n = 0;
  while (2n ** BigInt(8 * (n + 1) - 1) <= 10n ** BigInt(p)) n++;
  return n;
}
const SAFE_DECIMAL_BYTES = Array.from({ length: 39 }, (_, p) => safeDecimalBytes(p));

export class AvroReader {
  buf: Uint8Array = new Uint8Array(0);
  private dv: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(8));
  /** Current position, the payload's first byte and the end of the record. */
  pos = 0;
  start = 0;
  end = 0;
  /** The exact value of the last long() that returned NaN (beyond ±2^53). */
  big = 0n;

  /** Reads `bytes[start, end)` next. */
  at(bytes: Uint8Array, start: number, end: number): void {
    if (bytes !== this.buf) {
      this.buf = bytes;
      this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    this.pos = start;
    this.start = start;
    this.end = end;
  }

  truncated(): never {
    throw new KiceError(
      'DECODE_FAILED',
      `truncated Avro payload: ${this.end - this.start} bytes end inside the datum`,
    );
  }

  corrupt(what: string, path?: string): never {
    throw new KiceError(
      'DECODE_FAILED',
      `corrupt Avro payload: ${path ? `field "${path}": ` : ''}${what}`,
    );
  }

  /** After the datum: nothing may be left. */
  finish(): void {
    if (this.pos > this.end) this.truncated();
    if (this.pos < this.end)
      throw new KiceError(
        'DECODE_FAILED',
        `corrupt Avro payload: ${this.end - this.pos} bytes left after the datum`,
      );
  }

  /** A 32-bit zigzag varint. */
  int(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos >= end) this.truncated();
    let b = buf[pos++] as number;
    let z = b & 0x7f;
    for (let shift = 7; b >= 0x80; shift += 7) {
      if (pos >= end) this.truncated();
      b = buf[pos++] as number;
      if (shift === 28) {
        if (b > 0x0f) this.corrupt('an int beyond 32 bits');
        z += b * 0x10000000;
      } else z |= (b & 0x7f) << shift;
    }
    this.pos = pos;
    return (z >>> 1) ^ -(z & 1);
  }

  /** A 64-bit zigzag varint: a safe integer, or NaN with the exact value in `big`. */
  long(): number {
    const buf = this.buf;
    const end = this.end;
    const from = this.pos;
    let pos = from;
    if (pos >= end) this.truncated();
    let b = buf[pos++] as number;
    if (b < 0x80) {
      this.pos = pos;
      return (b >>> 1) ^ -(b & 1);
    }
    // Bits 0-27 as an int, the rest (up to 9 bytes) as a double: exact up to ±2^53.
    let lo = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= end) this.truncated();
      b = buf[pos++] as number;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return (lo >>> 1) ^ -(lo & 1);
      }
    }
    let hi = 0;
    let mul = 1;
    for (let k = 4; k < 9; k++) {
      if (pos >= end) this.truncated();
      b = buf[pos++] as number;
      hi += (b & 0x7f) * mul;
      if (b < 0x80) {
        const half = hi * 0x8000000 + (lo >>> 1);
        if (half > 9007199254740990) break;
        this.pos = pos;
        return lo & 1 ? -half - 1 : half;
      }
      mul *= 128;
    }
    return this.longSlow(from);
  }

  private longSlow(from: number): number {
    const buf = this.buf;
    let pos = from;
    let z = 0n;
    for (let k = 0; ; k++) {
      if (pos >= this.end) this.truncated();
      const b = buf[pos++] as number;
      // The 10th byte holds bit 63 only (and ends the varint).
      if (k === 9 && b > 1) this.corrupt('a long beyond 64 bits');
      z |= BigInt(b & 0x7f) << BigInt(7 * k);
      if (b < 0x80) break;
    }
    this.pos = pos;
    const v = (z >> 1n) ^ -(z & 1n);
    if (v >= -9007199254740991n && v <= 9007199254740991n) return Number(v);
    this.big = v;
    return Number.NaN;
  }

  float(): number {
    const p = this.pos;
    if (p + 4 > this.end) this.truncated();
    this.pos = p + 4;
    return this.dv.getFloat32(p, true);
  }

  double(): number {
    const p = this.pos;
    if (p + 8 > this.end) this.truncated();
    this.pos = p + 8;
    return this.dv.getFloat64(p, true);
  }

  bool(path: string): boolean {
    if (this.pos >= this.end) this.truncated();
    const b = this.buf[this.pos++] as number;
    if (b > 1) this.corrupt(`boolean byte ${b} (0 or 1)`, path);
    return b === 1;
  }

  /** A length (bytes, string) that fits in what is left of the record. */
  size(path: string): number {
    const n = this.long();
    if (n < 0) this.corrupt(`negative length ${n}`, path);
    if (!(n <= this.end - this.pos)) this.truncated();
    return n;
  }

  /** A union branch or enum index below `count`. */
  index(count: number, what: string, path: string): number {
    const i = this.int();
    if (i < 0 || i >= count) this.corrupt(`${what} index ${i} (${count} in the schema)`, path);
    return i;
  }

  /**
   * The item count of the next array or map block (0: no more blocks); the byte size of
   * a negative-count block is read and ignored. `minItemBytes` (> 0 when every item takes
   * bytes) bounds the count by what is left; items of no bytes (empty records) are bounded
   * by `maxEmptyItems`.
   */
  block(minItemBytes: number, path: string): number {
    let n = this.long();
    if (n < 0) {
      n = -n;
      const bytes = this.long();
      if (!(bytes >= 0)) this.corrupt(`block byte size ${bytes}`, path);
    }
    if (!(n >= 0)) this.corrupt('block count beyond ±2^53', path);
    if (minItemBytes > 0 ? n * minItemBytes > this.end - this.pos : n > MAX_EMPTY_ITEMS)
      this.truncated();
    return n;
  }

  /** A string into a string column (UTF-8 checked, copied as it is). */
  str(col: BytesColumn, path: string): void {
    const n = this.size(path);
    const p = this.pos;
    if (!col.appendUtf8(this.buf, p, p + n)) this.corrupt('not valid UTF-8', path);
    this.pos = p + n;
  }

  /** bytes into a binary column. */
  bytes(col: BytesColumn, path: string): void {
    const n = this.size(path);
    col.appendRange(this.buf, this.pos, this.pos + n);
    this.pos += n;
  }

  /** A fixed of `size` bytes into a fixed (or uuid) column of that width. */
  fixed(col: FixedColumn, size: number): void {
    const p = this.pos;
    if (p + size > this.end) this.truncated();
    const at = col.append();
    const out = col.bytes;
    const buf = this.buf;
    for (let k = 0; k < size; k++) out[at + k] = buf[p + k] as number;
    this.pos = p + size;
  }

  /** A uuid string (8-4-4-4-12 hex) into a uuid column. */
  uuid(col: FixedColumn, path: string): void {
    const n = this.size(path);
    const p = this.pos;
    const buf = this.buf;
    const bad = (): never =>
      this.corrupt(
        `"${Buffer.from(buf.subarray(p, p + Math.min(n, 40))).toString()}" is not a uuid`,
        path,
      );
    if (n !== 36) bad();
    const at = col.append();
    const out = col.bytes;
    for (let k = 0, o = 0; k < 36; ) {
      if (k === 8 || k === 13 || k === 18 || k === 23) {
        if (buf[p + k] !== 45) bad();
        k++;
        continue;
      }
      const hi = hex(buf[p + k] as number);
      const lo = hex(buf[p + k + 1] as number);
      if (hi < 0 || lo < 0) bad();
      out[at + o++] = (hi << 4) | lo;
      k += 2;
    }
    this.pos = p + 36;
  }

  /** A decimal's unscaled value, `n` big-endian two's-complement bytes, into Decimal128. */
  private decimal(col: FixedColumn, n: number, precision: number, path: string): void {
    const p = this.pos;
    if (p + n > this.end) this.truncated();
    const buf = this.buf;
    const sign = n > 0 && (buf[p] as number) & 0x80 ? 0xff : 0;
    if (n > (SAFE_DECIMAL_BYTES[precision] as number)) {
      let v = 0n;
      for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(buf[p + k] as number);
      if (sign) v -= 1n << BigInt(8 * n);
      const limit = 10n ** BigInt(precision);
      if (v >= limit || v <= -limit)
        this.corrupt(`decimal ${v} has more than ${precision} digits`, path);
    }
    const at = col.append();
    const out = col.bytes;
    for (let k = 0; k < 16; k++) out[at + k] = k < n ? (buf[p + n - 1 - k] as number) : sign;
    this.pos = p + n;
  }

  /** A decimal on bytes. */
  decimalBytes(col: FixedColumn, precision: number, path: string): void {
    this.decimal(col, this.size(path), precision, path);
  }

  /** A decimal on a fixed of `size` bytes. */
  decimalFixed(col: FixedColumn, size: number, precision: number, path: string): void {
    this.decimal(col, size, precision, path);
  }

  /** A long into a number column (long or double). */
  longInto(col: NumberColumn): void {
    const v = this.long();
    if (!Number.isNaN(v)) col.append(v);
    else col.appendBig(this.big);
  }

  /** A long into a 64-bit column (time, timestamp µs), times `scale` (1 or 1000 for millis). */
  longInto64(col: Int64Column, scale: number, path: string): void {
    const v = this.long();
    const x = v * scale;
    if (Number.isSafeInteger(x)) {
      col.append(x);
      return;
    }
    const big = (Number.isNaN(v) ? this.big : BigInt(v)) * BigInt(scale);
    if (big < INT64_MIN || big > INT64_MAX)
      this.corrupt(`${big / BigInt(scale)} ms is beyond the microsecond range of 64 bits`, path);
    col.appendBig(big);
  }
}

/** Items of no bytes (empty records) an array or map block may hold. */
export const MAX_EMPTY_ITEMS = 1 << 20;

/**
 * The Protobuf binary wire format, read without intermediate objects: varints (32-bit as
 * numbers, 64-bit as bigint), zigzag, fixed 32/64-bit little-endian, length-delimited
 * slices, skipping unknown fields; and the Confluent message-index list that follows the
 * 5-byte frame header of a Protobuf record.
 *
 * Encoding: https://protobuf.dev/programming-guides/encoding/
 * Confluent framing: magic 0, schema id (4 bytes, big-endian), then the message indexes as
 * a zigzag varint count followed by that many zigzag varint indexes (a single 0 byte is
 * the short form of [0], the file's first message), then the message bytes.
 * https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 *
 * Every read past `end` throws DECODE_FAILED "truncated Protobuf payload"; malformed
 * varints and wire types throw DECODE_FAILED "corrupt Protobuf payload: …".
 */
import { KiceError } from '../errors.ts';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_SGROUP = 3;
export const WIRE_EGROUP = 4;
export const WIRE_I32 = 5;

export function truncated(): never {
  throw new KiceError('DECODE_FAILED', 'truncated Protobuf payload: the bytes end inside a field');
}

export function corrupt(why: string): never {
  throw new KiceError('DECODE_FAILED', `corrupt Protobuf payload: ${why}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A cursor over one record's bytes. */
export class WireReader {
  pos = 0;
  end = 0;
  readonly view: DataView;
  /** High 32 bits of the last readVarint64Parts. */
  hi = 0;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A varint's low 32 bits as an unsigned number (the rest is checked, then dropped). */
  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    let v = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= this.end) truncated();
      const x = b[p++] as number;
      v |= (x & 0x7f) << shift;
      if (x < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    // 5th byte: bits 28..31; up to 5 more continuation bytes for 64-bit varints.
    if (p >= this.end) truncated();
    let x = b[p++] as number;
    v |= (x & 0x0f) << 28;
    for (let i = 0; x >= 0x80; i++) {
      if (i === 5) corrupt('varint longer than 10 bytes');
      if (p >= this.end) truncated();
      x = b[p++] as number;
    }
    this.pos = p;
    return v >>> 0;
  }

  /** A varint as int32 (two's complement of its low 32 bits). */
  int32(): number {
    return this.uint32() | 0;
  }

  sint32(): number {
    const n = this.uint32();
    return (n >>> 1) ^ -(n & 1);
  }

  /** A 64-bit varint: returns the low 32 bits (unsigned), sets `hi`. */
  parts(): number {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let x = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (p >= this.end) truncated();
      x = b[p++] as number;
      lo |= (x & 0x7f) << (i * 7);
      if (x < 0x80) break;
    }
    if (x >= 0x80) {
      if (p >= this.end) truncated();
      x = b[p++] as number;
      lo |= (x & 0x0f) << 28;
      hi = (x & 0x7f) >> 4;
      for (i = 0; x >= 0x80; i++) {
        if (i === 5) corrupt('varint longer than 10 bytes');
        if (p >= this.end) truncated();
        x = b[p++] as number;
        hi |= (x & 0x7f) << (3 + i * 7);
      }
    }
    this.pos = p;
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  /** int64 varint. */
  int64(): bigint {
    const lo = this.parts();
    const hi = this.hi;
    if (hi === 0) return BigInt(lo);
    if (hi === 0xffffffff && lo >= 0x80000000) return BigInt((lo | 0) as number);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** uint64 varint. */
  uint64(): bigint {
    const lo = this.parts();
    const hi = this.hi;
    if (hi === 0) return BigInt(lo);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** int64 varint as a number when it is a safe integer, else as bigint. */
  int64n(): number | bigint {
    const lo = this.parts();
    const h = this.hi | 0;
    if (h >= -0x200000 && h < 0x200000) return h * 4294967296 + lo;
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(lo));
  }

  /** uint64 varint as a number when it is a safe integer, else as bigint. */
  uint64n(): number | bigint {
    const lo = this.parts();
    if (this.hi < 0x200000) return this.hi * 4294967296 + lo;
    return (BigInt(this.hi) << 32n) | BigInt(lo);
  }

  /** sint64 varint as a number when it is a safe integer, else as bigint. */
  sint64n(): number | bigint {
    const lo = this.parts();
    const hi = this.hi;
    if (hi < 0x400000) {
      const u = hi * 4294967296 + lo;
      return lo & 1 ? -(u + 1) / 2 : u / 2;
    }
    const u = (BigInt(hi) << 32n) | BigInt(lo);
    return (u >> 1n) ^ -(u & 1n);
  }

  sint64(): bigint {
    const u = this.uint64();
    return (u >> 1n) ^ -(u & 1n);
  }

  bool(): boolean {
    const lo = this.parts();
    return lo !== 0 || this.hi !== 0;
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.end) truncated();
    this.pos = p + n;
    return p;
  }

  fixed32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  sfixed32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  fixed64(): bigint {
    return this.view.getBigUint64(this.need(8), true);
  }
  sfixed64(): bigint {
    return this.view.getBigInt64(this.need(8), true);
  }
  float(): number {
    return this.view.getFloat32(this.need(4), true);
  }
  double(): number {
    return this.view.getFloat64(this.need(8), true);
  }

  /** A length prefix; returns the end of the slice and leaves `pos` at its start. */
  len(): number {
    const n = this.uint32();
    if (n > this.end - this.pos) truncated();
    return this.pos + n;
  }

  /** Whether buf[from, to) is valid UTF-8 (ASCII fast path). */
  validUtf8(from: number, to: number): boolean {
    const b = this.buf;
    for (let k = from; k < to; k++) {
      if ((b[k] as number) >= 0x80) {
        try {
          utf8.decode(b.subarray(k, to));
          return true;
        } catch {
          return false;
        }
      }
    }
    return true;
  }

  bytes(): Uint8Array {
    const e = this.len();
    const out = this.buf.slice(this.pos, e);
    this.pos = e;
    return out;
  }

  string(): string {
    const e = this.len();
    const p = this.pos;
    this.pos = e;
    try {
      return utf8.decode(this.buf.subarray(p, e));
    } catch {
      return corrupt('a string field is not valid UTF-8');
    }
  }

  /** Skips a field of `wire` type whose tag was just read. */
  skip(wire: number, field: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.parts();
        return;
      case WIRE_I64:
        this.need(8);
        return;
      case WIRE_LEN:
        this.pos = this.len();
        return;
      case WIRE_I32:
        this.need(4);
        return;
      case WIRE_SGROUP:
        for (;;) {
          if (this.pos >= this.end) truncated();
          const tag = this.uint32();
          const w = tag & 7;
          if (w === WIRE_EGROUP) {
            if (tag >>> 3 !== field)
              corrupt(`group ${field} ends with the end tag of ${tag >>> 3}`);
            return;
          }
          this.skip(w, tag >>> 3);
        }
      default:
        corrupt(`wire type ${wire} of field ${field}`);
    }
  }
}

/**
 * Reads the message-index list at `r.pos` (after the frame header). Returns the indexes
 * ([0] for the short form) and leaves `r.pos` at the message bytes.
 */
export function readMessageIndexes(r: WireReader): number[] {
  if (r.pos >= r.end) {
    throw new KiceError(
      'DECODE_FAILED',
      'not a Protobuf frame: the message-index list is missing after the schema id',
    );
  }
  const count = r.sint32();
  if (count === 0) return [0];
  if (count < 0 || count > r.end - r.pos) {
    throw new KiceError(
      'DECODE_FAILED',
      `not a Protobuf frame: message-index count ${count} does not fit the ${r.end - r.pos} bytes left`,
    );
  }
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(r.sint32());
  return out;
}

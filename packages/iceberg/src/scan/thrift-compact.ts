/**
 * A reader of the Thrift compact protocol, as the Parquet footer and page index structures
 * are encoded: field headers with id deltas, zigzag varints, length-prefixed binaries,
 * list headers, and skipping of any field a caller does not consume.
 *
 * Encoding: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 * Structures: https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
 */
import { IcebergError } from '../errors.ts';

// Compact protocol type ids.
export const T_TRUE = 1;
export const T_FALSE = 2;
export const T_BYTE = 3;
export const T_I16 = 4;
export const T_I32 = 5;
export const T_I64 = 6;
export const T_DOUBLE = 7;
export const T_BINARY = 8;
export const T_LIST = 9;
export const T_SET = 10;
export const T_MAP = 11;
export const T_STRUCT = 12;

export class ThriftReader {
  pos = 0;
  /** `what`: the structure read, named in errors (e.g. "Parquet footer"). */
  constructor(
    private readonly b: Uint8Array,
    private readonly what = 'Parquet footer',
  ) {}

  byte(): number {
    const v = this.b[this.pos++];
    if (v === undefined) throw new IcebergError('INVALID_PARQUET', `${this.what} is truncated`);
    return v;
  }

  varint(): bigint {
    let out = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      out |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return out;
      shift += 7n;
    }
  }

  zigzag(): bigint {
    const v = this.varint();
    return (v >> 1n) ^ -(v & 1n);
  }

  int(): number {
    return Number(this.zigzag());
  }

  binary(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.b.length)
      throw new IcebergError('INVALID_PARQUET', `${this.what} is truncated`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    return new TextDecoder().decode(this.binary());
  }

  /** [element type, size] of a list/set header. */
  listHeader(): [number, number] {
    const h = this.byte();
    const size = h >> 4 === 15 ? Number(this.varint()) : h >> 4;
    return [h & 0x0f, size];
  }

  /** Calls `field(id, type)` for each field of a struct until STOP; `field` must consume
   * the value or return false to have it skipped. */
  struct(field: (id: number, type: number) => boolean): void {
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return;
      const type = h & 0x0f;
      const delta = h >> 4;
      const id = delta === 0 ? this.int() : last + delta;
      last = id;
      if (!field(id, type)) this.skip(type);
    }
  }

  list<T>(item: () => T): T[] {
    const [, size] = this.listHeader();
    const out: T[] = [];
    for (let i = 0; i < size; i++) out.push(item());
    return out;
  }

  /** A list of booleans: one byte per element, 1 for true (writers use 0 or 2 for false). */
  boolList(): boolean[] {
    const [, size] = this.listHeader();
    const out: boolean[] = [];
    for (let i = 0; i < size; i++) out.push(this.byte() === 1);
    return out;
  }

  skip(type: number): void {
    switch (type) {
      case T_TRUE:
      case T_FALSE:
        return;
      case T_BYTE:
        this.pos++;
        return;
      case T_I16:
      case T_I32:
      case T_I64:
        this.varint();
        return;
      case T_DOUBLE:
        this.pos += 8;
        return;
      case T_BINARY:
        this.binary();
        return;
      case T_LIST:
      case T_SET: {
        const [et, size] = this.listHeader();
        // Booleans inside a collection take one byte each.
        for (let i = 0; i < size; i++) et === T_TRUE || et === T_FALSE ? this.pos++ : this.skip(et);
        return;
      }
      case T_MAP: {
        const size = Number(this.varint());
        if (size === 0) return;
        const kv = this.byte();
        for (let i = 0; i < size; i++) {
          this.skip(kv >> 4);
          this.skip(kv & 0x0f);
        }
        return;
      }
      case T_STRUCT:
        this.struct(() => false);
        return;
      default:
        throw new IcebergError('INVALID_PARQUET', `${this.what} has unknown Thrift type ${type}`);
    }
  }
}

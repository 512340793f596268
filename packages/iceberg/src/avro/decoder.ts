/**
 * Avro binary decoding into JS values, driven by the writer's resolved schema.
 *
 * Spec: https://avro.apache.org/docs/1.11.1/specification/#binary-encoding
 *
 * JS values: int → number; long → ALWAYS bigint; float/double → number;
 * bytes/fixed → Uint8Array (a copy); string and enum → string; record → plain object keyed
 * by field name; array → array; map → Map<string, …>; union → the branch's value.
 * Arrays and maps accept any blocking, including negative block counts followed by the
 * block's byte size.
 */
import { IcebergError } from '../errors.ts';
import type { AvroNode } from './schema.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function truncated(at: number): never {
  throw new IcebergError('INVALID_AVRO', `avro data truncated at byte ${at}`, {
    context: { offset: at },
  });
}

/** A cursor over Avro-encoded bytes with the primitive readers. */
export class AvroReader {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  byte(): number {
    const b = this.buf[this.pos];
    if (b === undefined) truncated(this.pos);
    this.pos++;
    return b;
  }

  /** A zig-zag varint as bigint (up to 64 bits). */
  long(): bigint {
    // Fast path: up to 4 bytes (28 bits) fit exactly in a number.
    let n = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      n |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80 && shift < 28);
    if (!(b & 0x80)) return BigInt((n >>> 1) ^ -(n & 1));
    let z = BigInt(n >>> 0);
    let s = 28n;
    do {
      if (s > 63n) {
        throw new IcebergError('INVALID_AVRO', `avro varint too long at byte ${this.pos}`, {
          context: { offset: this.pos },
        });
      }
      b = this.byte();
      z |= BigInt(b & 0x7f) << s;
      s += 7n;
    } while (b & 0x80);
    return (z >> 1n) ^ -(z & 1n);
  }

  /** A long that must fit a safe JS integer (lengths, counts, int values). */
  safeLong(): number {
    const v = this.long();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new IcebergError('INVALID_AVRO', `avro value ${v} out of range at byte ${this.pos}`, {
        context: { offset: this.pos },
      });
    }
    return Number(v);
  }

  int(): number {
    const v = this.safeLong();
    if (v < -(2 ** 31) || v > 2 ** 31 - 1) {
      throw new IcebergError('INVALID_AVRO', `avro int ${v} out of range at byte ${this.pos}`, {
        context: { offset: this.pos },
      });
    }
    return v;
  }

  float(): number {
    if (this.remaining < 4) truncated(this.pos);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.remaining < 8) truncated(this.pos);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** `n` raw bytes as a view into the buffer (no copy). */
  raw(n: number): Uint8Array {
    if (n < 0 || this.remaining < n) truncated(this.pos);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Length-prefixed bytes as a view into the buffer (no copy). */
  bytesView(): Uint8Array {
    return this.raw(this.safeLong());
  }

  string(): string {
    return utf8.decode(this.bytesView());
  }
}

/** Reads one block count of an array or map; a negative count is followed by a byte size. */
function blockCount(r: AvroReader): number {
  const n = r.safeLong();
  if (n >= 0) return n;
  r.safeLong();
  return -n;
}

/** Decodes one value of schema `node` at the reader's position. */
export function decodeAvro(r: AvroReader, node: AvroNode): unknown {
  switch (node.kind) {
    case 'null':
      return null;
    case 'boolean':
      return r.byte() !== 0;
    case 'int':
      return r.int();
    case 'long':
      return r.long();
    case 'float':
      return r.float();
    case 'double':
      return r.double();
    case 'bytes':
      return r.bytesView().slice();
    case 'string':
      return r.string();
    case 'fixed':
      return r.raw(node.size).slice();
    case 'enum': {
      const i = r.int();
      const s = node.symbols[i];
      if (s === undefined) {
        throw new IcebergError('INVALID_AVRO', `enum ${node.name} has no symbol ${i}`, {
          context: { offset: r.pos },
        });
      }
      return s;
    }
    case 'array': {
      const out: unknown[] = [];
      for (let n = blockCount(r); n > 0; n = blockCount(r)) {
        for (let i = 0; i < n; i++) out.push(decodeAvro(r, node.items));
      }
      return out;
    }
    case 'map': {
      const out = new Map<string, unknown>();
      for (let n = blockCount(r); n > 0; n = blockCount(r)) {
        for (let i = 0; i < n; i++) {
          const k = r.string();
          out.set(k, decodeAvro(r, node.values));
        }
      }
      return out;
    }
    case 'union': {
      const i = r.int();
      const branch = node.branches[i];
      if (!branch) {
        throw new IcebergError('INVALID_AVRO', `union has no branch ${i}`, {
          context: { offset: r.pos },
        });
      }
      return decodeAvro(r, branch);
    }
    case 'record': {
      const out: Record<string, unknown> = {};
      for (const f of node.fields) out[f.name] = decodeAvro(r, f.type);
      return out;
    }
  }
}

/**
 * Avro binary encoding of JS values, driven by a resolved schema.
 *
 * Spec: https://avro.apache.org/docs/1.11.1/specification/#binary-encoding
 *
 *   null → nothing · boolean → 1 byte · int/long → zig-zag varint · float/double → IEEE LE
 *   bytes/string → long length + bytes · fixed → bytes · enum → int index
 *   array/map → blocks (long count, items…) ending with count 0 · union → long branch + value
 *   record → its fields in schema order
 *
 * JS values: int → number; long → number | bigint; bytes/fixed → Uint8Array; enum → symbol
 * string; record → object keyed by field name (missing fields take the schema default);
 * map → Map or object with string keys; union → the plain value, its branch picked by the
 * value's type (null → "null").
 */
import { IcebergError } from '../errors.ts';
import type { AvroNode } from './schema.ts';

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const LONG_MIN = -(1n << 63n);
const LONG_MAX = (1n << 63n) - 1n;
const utf8 = new TextEncoder();

/** A growable byte buffer with the Avro primitive writers. */
export class AvroWriter {
  private buf: Uint8Array;
  private view: DataView;
  /** Bytes written so far. */
  length = 0;

  constructor(initialSize = 1024) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** A view of the bytes written (valid until the next write or reset). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Zig-zag varint of a long; `number` must be a safe integer. */
  long(v: number | bigint): void {
    if (typeof v === 'number' && v >= INT_MIN && v <= INT_MAX) {
      this.ensure(5);
      let z = ((v << 1) ^ (v >> 31)) >>> 0;
      while (z > 0x7f) {
        this.buf[this.length++] = (z & 0x7f) | 0x80;
        z >>>= 7;
      }
      this.buf[this.length++] = z;
      return;
    }
    const b = BigInt(v);
    let z = b >= 0n ? b << 1n : (-b << 1n) - 1n;
    this.ensure(10);
    while (z > 0x7fn) {
      this.buf[this.length++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.length++] = Number(z);
  }

  float(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  /** Length-prefixed bytes. */
  bytesValue(v: Uint8Array): void {
    this.long(v.length);
    this.raw(v);
  }

  string(v: string): void {
    this.bytesValue(utf8.encode(v));
  }
}

function fail(path: string, msg: string): never {
  throw new IcebergError('INVALID_AVRO', `cannot encode ${path}: ${msg}`, { context: { path } });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Whether `v` can be written with schema `node` (used to pick a union branch). */
export function matchesAvro(node: AvroNode, v: unknown): boolean {
  switch (node.kind) {
    case 'null':
      return v === null || v === undefined;
    case 'boolean':
      return typeof v === 'boolean';
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v >= INT_MIN && v <= INT_MAX;
    case 'long':
      return (
        (typeof v === 'number' && Number.isSafeInteger(v)) ||
        (typeof v === 'bigint' && v >= LONG_MIN && v <= LONG_MAX)
      );
    case 'float':
    case 'double':
      return typeof v === 'number';
    case 'bytes':
      return v instanceof Uint8Array;
    case 'fixed':
      return v instanceof Uint8Array && v.length === node.size;
    case 'string':
      return typeof v === 'string';
    case 'enum':
      return typeof v === 'string' && node.symbols.includes(v);
    case 'array':
      return Array.isArray(v);
    case 'map':
      return v instanceof Map || isPlainObject(v);
    case 'record':
      return isPlainObject(v) && !(v instanceof Map);
    case 'union':
      return node.branches.some((b) => matchesAvro(b, v));
  }
}

/** Appends the Avro binary encoding of `v` to `w`. `path` names the value in errors. */
export function encodeAvro(w: AvroWriter, node: AvroNode, v: unknown, path = '$'): void {
  switch (node.kind) {
    case 'null':
      if (v !== null && v !== undefined) fail(path, 'expected null');
      return;
    case 'boolean':
      if (typeof v !== 'boolean') fail(path, 'expected a boolean');
      w.byte(v ? 1 : 0);
      return;
    case 'int':
    case 'long':
      if (!matchesAvro(node, v))
        fail(path, `expected ${node.kind === 'int' ? 'an int' : 'a long'}`);
      w.long(v as number | bigint);
      return;
    case 'float':
      if (typeof v !== 'number') fail(path, 'expected a number');
      w.float(v);
      return;
    case 'double':
      if (typeof v !== 'number') fail(path, 'expected a number');
      w.double(v);
      return;
    case 'bytes':
      if (!(v instanceof Uint8Array)) fail(path, 'expected a Uint8Array');
      w.bytesValue(v);
      return;
    case 'string':
      if (typeof v !== 'string') fail(path, 'expected a string');
      w.string(v);
      return;
    case 'fixed':
      if (!matchesAvro(node, v)) fail(path, `expected a Uint8Array of ${node.size} bytes`);
      w.raw(v as Uint8Array);
      return;
    case 'enum': {
      const i = typeof v === 'string' ? node.symbols.indexOf(v) : -1;
      if (i < 0) fail(path, `expected one of ${node.symbols.join(', ')}`);
      w.long(i);
      return;
    }
    case 'array': {
      if (!Array.isArray(v)) fail(path, 'expected an array');
      if (v.length > 0) {
        w.long(v.length);
        for (let i = 0; i < v.length; i++) encodeAvro(w, node.items, v[i], `${path}[${i}]`);
      }
      w.long(0);
      return;
    }
    case 'map': {
      if (!matchesAvro(node, v)) fail(path, 'expected a Map or an object');
      const entries =
        v instanceof Map ? [...v.entries()] : Object.entries(v as Record<string, unknown>);
      if (entries.length > 0) {
        w.long(entries.length);
        for (const [k, x] of entries) {
          if (typeof k !== 'string') fail(path, 'map keys must be strings');
          w.string(k);
          encodeAvro(w, node.values, x, `${path}.${k}`);
        }
      }
      w.long(0);
      return;
    }
    case 'union': {
      const i = node.branches.findIndex((b) => matchesAvro(b, v));
      const branch = node.branches[i];
      if (!branch) fail(path, 'value matches no branch of the union');
      w.long(i);
      encodeAvro(w, branch, v, path);
      return;
    }
    case 'record': {
      if (!matchesAvro(node, v)) fail(path, `expected an object for record ${node.name}`);
      const o = v as Record<string, unknown>;
      for (const f of node.fields) {
        let x = o[f.name];
        if (x === undefined) {
          if (!f.hasDefault) fail(`${path}.${f.name}`, 'missing value and no default');
          x = f.default;
        }
        encodeAvro(w, f.type, x, `${path}.${f.name}`);
      }
      return;
    }
  }
}

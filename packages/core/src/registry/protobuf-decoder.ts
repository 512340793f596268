/**
 * A compiled reader of one Protobuf message type: the message's bytes → a row in the
 * in-memory value conventions of @kice/iceberg (spec/types.ts), mapped as
 * registry/protobuf-schema.ts maps the schema: long → bigint, timestamptz → bigint µs,
 * binary → Uint8Array, struct → object, list → array, map → Map.
 *
 * Compiled once per message type: a table of field numbers → slot (name, expected wire
 * type, value reader), so decoding is one pass over the tags with no reflection and no
 * intermediate JSON. Absent fields (proto3 semantics):
 * - implicit presence (proto3 scalars without `optional`, enums): the type's default
 *   (0, "", false, empty bytes, the enum's first value name) — what the producer meant;
 * - explicit presence (`optional`, oneof members, messages, proto2 fields, wrappers):
 *   null (proto2 `[default = …]` values are not applied);
 * - repeated: []; map: an empty map.
 * A oneof member that is set clears the other members (the last one on the wire wins); a
 * message field seen twice is merged, scalars seen twice keep the last value, as the
 * Protobuf spec says. Unknown fields are skipped. Packed and unpacked repeated scalars
 * are both accepted.
 *
 * Errors (DECODE_FAILED, the dead letter's reason): truncated bytes, malformed varints,
 * a wire type that does not match the declared field, invalid UTF-8 in a string, a uint64
 * value above 2^63−1 (`field "a.b": …`).
 *
 * Encoding: https://protobuf.dev/programming-guides/encoding/
 */
import protobuf from 'protobufjs';
import { KiceError } from '../errors.ts';
import { type ProtoSchema, typeName } from './protobuf-schema.ts';
import {
  corrupt,
  WIRE_I32,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
  type WireReader,
} from './protobuf-wire.ts';

type Read = (r: WireReader) => unknown;

interface Scalar {
  readonly wire: number;
  readonly read: Read;
  /** The absent value under implicit presence. */
  readonly zero: unknown;
  readonly packable: boolean;
}

const LONG_MAX = (1n << 63n) - 1n;
const EMPTY = new Uint8Array(0);

function fitLong(path: string, v: bigint): bigint {
  if (v > LONG_MAX) {
    throw new KiceError(
      'DECODE_FAILED',
      `field "${path}": uint64 value ${v} does not fit a long (above 2^63-1)`,
    );
  }
  return v;
}

function scalar(type: string, path: string): Scalar | undefined {
  switch (type) {
    case 'int32':
      return { wire: WIRE_VARINT, read: (r) => r.int32(), zero: 0, packable: true };
    case 'sint32':
      return { wire: WIRE_VARINT, read: (r) => r.sint32(), zero: 0, packable: true };
    case 'sfixed32':
      return { wire: WIRE_I32, read: (r) => r.sfixed32(), zero: 0, packable: true };
    case 'uint32':
      return { wire: WIRE_VARINT, read: (r) => BigInt(r.uint32()), zero: 0n, packable: true };
    case 'fixed32':
      return { wire: WIRE_I32, read: (r) => BigInt(r.fixed32()), zero: 0n, packable: true };
    case 'int64':
      return { wire: WIRE_VARINT, read: (r) => r.int64(), zero: 0n, packable: true };
    case 'sint64':
      return { wire: WIRE_VARINT, read: (r) => r.sint64(), zero: 0n, packable: true };
    case 'sfixed64':
      return { wire: WIRE_I64, read: (r) => r.sfixed64(), zero: 0n, packable: true };
    case 'uint64':
      return {
        wire: WIRE_VARINT,
        read: (r) => fitLong(path, r.uint64()),
        zero: 0n,
        packable: true,
      };
    case 'fixed64':
      return { wire: WIRE_I64, read: (r) => fitLong(path, r.fixed64()), zero: 0n, packable: true };
    case 'float':
      return { wire: WIRE_I32, read: (r) => r.float(), zero: 0, packable: true };
    case 'double':
      return { wire: WIRE_I64, read: (r) => r.double(), zero: 0, packable: true };
    case 'bool':
      return { wire: WIRE_VARINT, read: (r) => r.bool(), zero: false, packable: true };
    case 'string':
      return { wire: WIRE_LEN, read: (r) => r.string(), zero: '', packable: false };
    case 'bytes':
      return { wire: WIRE_LEN, read: (r) => r.bytes(), zero: EMPTY, packable: false };
    default:
      return undefined;
  }
}

function enumScalar(e: protobuf.Enum): Scalar {
  const names = new Map<number, string>();
  // The first name of each number (aliases share numbers).
  for (const [k, v] of Object.entries(e.values)) if (!names.has(v)) names.set(v, k);
  const first = Object.values(e.values)[0] ?? 0;
  return {
    wire: WIRE_VARINT,
    read: (r) => {
      const n = r.int32();
      return names.get(n) ?? String(n);
    },
    zero: names.get(0) ?? names.get(first) ?? '0',
    packable: true,
  };
}

/** Reads a length-delimited sub-message at r.pos with `body` (r.end narrowed to it). */
function within<T>(r: WireReader, body: (r: WireReader, end: number) => T): T {
  const e = r.len();
  const outer = r.end;
  r.end = e;
  try {
    return body(r, e);
  } finally {
    r.end = outer;
    r.pos = e;
  }
}

/** Reads fields of a small fixed message: calls `on(field, wire)` per tag. */
function eachTag(r: WireReader, end: number, on: (field: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const f = tag >>> 3;
    const w = tag & 7;
    if (f === 0) corrupt('field number 0');
    if (!on(f, w)) r.skip(w, f);
  }
}

function expectWire(path: string, field: number, wire: number, want: number): void {
  if (wire !== want)
    corrupt(`field "${path}" (number ${field}) has wire type ${wire}, expected ${want}`);
}

/** Timestamp/Duration: (seconds, nanos) → µs. */
function secondsNanos(path: string, floor: boolean): Read {
  return (r) =>
    within(r, (r, end) => {
      let s = 0n;
      let n = 0;
      eachTag(r, end, (f, w) => {
        if (f === 1) {
          expectWire(`${path}.seconds`, f, w, WIRE_VARINT);
          s = r.int64();
        } else if (f === 2) {
          expectWire(`${path}.nanos`, f, w, WIRE_VARINT);
          n = r.int32();
        } else return false;
        return true;
      });
      const us = floor ? Math.floor(n / 1000) : Math.trunc(n / 1000);
      return s * 1_000_000n + BigInt(us);
    });
}

/** A wrapper message's field 1, its scalar default when absent. */
function wrapper(inner: Scalar, path: string): Read {
  return (r) =>
    within(r, (r, end) => {
      let v = inner.zero;
      eachTag(r, end, (f, w) => {
        if (f !== 1) return false;
        expectWire(`${path}.value`, f, w, inner.wire);
        v = inner.read(r);
        return true;
      });
      return v;
    });
}

// google.protobuf.Value / Struct / ListValue → JS values (then JSON text).
function readValue(r: WireReader, end: number): unknown {
  let v: unknown = null;
  eachTag(r, end, (f) => {
    switch (f) {
      case 1:
        r.uint32();
        v = null;
        return true;
      case 2:
        v = r.double();
        return true;
      case 3:
        v = r.string();
        return true;
      case 4:
        v = r.bool();
        return true;
      case 5:
        v = within(r, readStruct);
        return true;
      case 6:
        v = within(r, readList);
        return true;
      default:
        return false;
    }
  });
  return v;
}
function readStruct(r: WireReader, end: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  eachTag(r, end, (f) => {
    if (f !== 1) return false;
    within(r, (r, e) => {
      let k = '';
      let v: unknown = null;
      eachTag(r, e, (g) => {
        if (g === 1) k = r.string();
        else if (g === 2) v = within(r, readValue);
        else return false;
        return true;
      });
      o[k] = v;
    });
    return true;
  });
  return o;
}
function readList(r: WireReader, end: number): unknown[] {
  const out: unknown[] = [];
  eachTag(r, end, (f) => {
    if (f !== 1) return false;
    out.push(within(r, readValue));
    return true;
  });
  return out;
}
function readAny(r: WireReader, end: number): string {
  let url = '';
  let value: Uint8Array = EMPTY;
  eachTag(r, end, (f) => {
    if (f === 1) url = r.string();
    else if (f === 2) value = r.bytes();
    else return false;
    return true;
  });
  return JSON.stringify({ '@type': url, value: Buffer.from(value).toString('base64') });
}

function wellKnown(name: string, path: string): Read | undefined {
  const wrap = (t: string) => wrapper(scalar(t, `${path}.value`) as Scalar, path);
  switch (name) {
    case 'google.protobuf.Timestamp':
      return secondsNanos(path, true);
    case 'google.protobuf.Duration':
      return secondsNanos(path, false);
    case 'google.protobuf.DoubleValue':
      return wrap('double');
    case 'google.protobuf.FloatValue':
      return wrap('float');
    case 'google.protobuf.Int64Value':
      return wrap('int64');
    case 'google.protobuf.UInt64Value':
      return wrap('uint64');
    case 'google.protobuf.Int32Value':
      return wrap('int32');
    case 'google.protobuf.UInt32Value':
      return wrap('uint32');
    case 'google.protobuf.BoolValue':
      return wrap('bool');
    case 'google.protobuf.StringValue':
      return wrap('string');
    case 'google.protobuf.BytesValue':
      return wrap('bytes');
    case 'google.protobuf.Struct':
      return (r) => JSON.stringify(within(r, readStruct));
    case 'google.protobuf.Value':
      return (r) => JSON.stringify(within(r, readValue)) ?? 'null';
    case 'google.protobuf.ListValue':
      return (r) => JSON.stringify(within(r, readList));
    case 'google.protobuf.Any':
      return (r) => within(r, readAny);
    default:
      return undefined;
  }
}

enum Mode {
  Single = 0,
  Repeated = 1,
  Map = 2,
  /** A singular (non-well-known) message: merged when seen twice. */
  Message = 3,
}

interface Slot {
  readonly name: string;
  readonly path: string;
  readonly field: number;
  readonly mode: Mode;
  /** Expected wire type of one value. */
  readonly wire: number;
  readonly read: Read;
  readonly packable: boolean;
  /** The value when absent. */
  readonly absent: unknown;
  /** Other members of the same oneof, cleared when this one is set. */
  readonly siblings: readonly string[];
  /** Map fields: key and value readers, defaults. */
  readonly key?: Scalar;
  readonly value?: { wire: number; read: Read; absent: unknown };
  /** Message fields: decode into an existing object (merge). */
  readonly into?: (r: WireReader, o: Record<string, unknown>) => void;
}

class MessageReader {
  slots: Slot[] = [];
  private byNumber = new Map<number, Slot>();
  private dense: (Slot | undefined)[] = [];

  init(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const s of this.slots) {
      o[s.name] = s.mode === Mode.Repeated ? [] : s.mode === Mode.Map ? new Map() : s.absent;
    }
    return o;
  }

  setSlots(slots: Slot[]): void {
    this.slots = slots;
    for (const s of slots) {
      this.byNumber.set(s.field, s);
      if (s.field < 256) this.dense[s.field] = s;
    }
  }

  /** Reads fields up to `end` into `o`. */
  into(r: WireReader, end: number, o: Record<string, unknown>): void {
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      const w = tag & 7;
      if (f === 0) corrupt('field number 0');
      const s = f < 256 ? this.dense[f] : this.byNumber.get(f);
      if (s === undefined) {
        r.skip(w, f);
        continue;
      }
      switch (s.mode) {
        case Mode.Single:
          expectWire(s.path, f, w, s.wire);
          o[s.name] = s.read(r);
          break;
        case Mode.Message: {
          expectWire(s.path, f, w, WIRE_LEN);
          let cur = o[s.name] as Record<string, unknown> | null;
          if (cur === null) {
            cur = (s.read as () => Record<string, unknown>)();
            o[s.name] = cur;
          }
          (s.into as (r: WireReader, o: Record<string, unknown>) => void)(r, cur);
          break;
        }
        case Mode.Repeated: {
          const list = o[s.name] as unknown[];
          if (w === WIRE_LEN && s.packable) {
            const e = r.len();
            while (r.pos < e) list.push(s.read(r));
          } else {
            expectWire(s.path, f, w, s.wire);
            list.push(s.read(r));
          }
          break;
        }
        case Mode.Map: {
          expectWire(s.path, f, w, WIRE_LEN);
          const key = s.key as Scalar;
          const val = s.value as { wire: number; read: Read; absent: unknown };
          let k: unknown = key.zero;
          let v: unknown = val.absent;
          within(r, (r, e) => {
            eachTag(r, e, (g, gw) => {
              if (g === 1) {
                expectWire(`${s.path}.key`, g, gw, key.wire);
                k = key.read(r);
              } else if (g === 2) {
                expectWire(`${s.path}.value`, g, gw, val.wire);
                v = val.read(r);
              } else return false;
              return true;
            });
          });
          (o[s.name] as Map<unknown, unknown>).set(k, v);
          break;
        }
      }
      for (const n of s.siblings) o[n] = null;
    }
  }
}

/**
 * Builds the readers of a message type and the types under it, one per column path (the
 * schema was mapped first, so it has no recursive type: protobuf-schema.ts).
 */
class Compiler {
  message(t: protobuf.Type, path: string): MessageReader {
    const m = new MessageReader();
    m.setSlots(t.fieldsArray.map((f) => this.slot(f, path)));
    return m;
  }

  /** A reader of one value of field `f` (a message value decodes to a fresh object). */
  private one(
    f: protobuf.Field,
    path: string,
  ): { wire: number; read: Read; zero: unknown; packable: boolean; msg?: MessageReader } {
    const rt = f.resolvedType;
    if (rt === null) {
      const s = scalar(f.type, path);
      if (!s) throw new KiceError('INTERNAL', `protobuf: no reader for "${f.type}"`);
      return s;
    }
    if (rt instanceof protobuf.Enum) return enumScalar(rt);
    const wk = wellKnown(typeName(rt), path);
    if (wk) return { wire: WIRE_LEN, read: wk, zero: null, packable: false };
    const sub = this.message(rt as protobuf.Type, path);
    return {
      wire: WIRE_LEN,
      read: (r) =>
        within(r, (r, e) => {
          const o = sub.init();
          sub.into(r, e, o);
          return o;
        }),
      zero: null,
      packable: false,
      msg: sub,
    };
  }

  private slot(f: protobuf.Field, parent: string): Slot {
    const path = parent ? `${parent}.${f.name}` : f.name;
    const siblings = f.partOf ? f.partOf.oneof.filter((n) => n !== f.name) : [];
    if (f.map) {
      const mf = f as unknown as protobuf.MapField;
      const key = scalar(mf.keyType, `${path}.key`) as Scalar;
      const v = this.one(f, `${path}.value`);
      return {
        name: f.name,
        path,
        field: f.id,
        mode: Mode.Map,
        wire: WIRE_LEN,
        read: v.read,
        packable: false,
        absent: null,
        siblings,
        key,
        value: { wire: v.wire, read: v.read, absent: v.msg ? null : v.zero },
      };
    }
    const v = this.one(f, path);
    if (f.repeated) {
      return {
        name: f.name,
        path,
        field: f.id,
        mode: Mode.Repeated,
        wire: v.wire,
        read: v.read,
        packable: v.packable,
        absent: null,
        siblings,
      };
    }
    const explicit =
      f.partOf !== null ||
      f.resolvedType instanceof protobuf.Type ||
      (f as unknown as { hasPresence: boolean }).hasPresence;
    if (v.msg) {
      const sub = v.msg;
      return {
        name: f.name,
        path,
        field: f.id,
        mode: Mode.Message,
        wire: WIRE_LEN,
        read: () => sub.init(),
        packable: false,
        absent: null,
        siblings,
        into: (r, o) => within(r, (r, e) => sub.into(r, e, o)),
      };
    }
    return {
      name: f.name,
      path,
      field: f.id,
      mode: Mode.Single,
      wire: v.wire,
      read: v.read,
      packable: false,
      absent: explicit ? null : v.zero,
      siblings,
    };
  }
}

/** A compiled reader of one message type of a schema. */
export interface ProtoReader {
  /** Decodes `r.buf[r.pos, r.end)` (one whole message) into a row. */
  decode(r: WireReader): Record<string, unknown>;
}

export function compileProtoReader(schema: ProtoSchema, message: string): ProtoReader {
  const m = new Compiler().message(schema.root.lookupType(message), '');
  return {
    decode(r) {
      const o = m.init();
      m.into(r, r.end, o);
      return o;
    },
  };
}

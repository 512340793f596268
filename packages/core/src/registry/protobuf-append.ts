/**
 * Appends Protobuf messages straight into the decoder's column tree (decode/tree.ts): one
 * compiled appender per (writer message type, table struct node), so a record's bytes go
 * into the columns without a per-record object. The table schema is evolved before the
 * batch is decoded (protobuf-batch.ts), so every writer field has its column, possibly of
 * a wider type (int values into a long column, float into double).
 *
 * Per message, fields arrive in any order (the Protobuf spec): a slot per field number
 * appends the value to its column when it is read; at the end of the message every
 * column the message did not set gets its absent value — the type's default for
 * implicit presence (proto3 scalars, enums), null for explicit presence (`optional`,
 * oneof members, messages, wrappers, proto2) and for table columns this writer lacks; an
 * empty list or map for repeated and map fields. A scalar seen twice keeps the last value
 * (its earlier append is taken back); a oneof member takes back the member set before it.
 * Two cases the columns cannot take are refused with a reason (the record is
 * dead-lettered): a singular message field seen twice (concatenated messages, which
 * Protobuf would merge) and a map key seen twice in one map.
 *
 * Values: see registry/protobuf-schema.ts (the mapping) and protobuf-messages.ts (the
 * well-known types as JSON text). Encoding: https://protobuf.dev/programming-guides/encoding/
 */
import protobuf from 'protobufjs';
import {
  appendNull,
  type BoolNode,
  type BytesNode,
  type Int64Node,
  type Kind,
  type Node,
  type NumberNode,
  type StructNode,
  truncate,
} from '../decode/tree.ts';
import { KiceError } from '../errors.ts';
import {
  eachTag,
  expectWire,
  readAny,
  readList,
  readStruct,
  readValue,
  within,
} from './protobuf-messages.ts';
import { typeName } from './protobuf-schema.ts';
import {
  corrupt,
  WIRE_I32,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
  type WireReader,
} from './protobuf-wire.ts';

/** Appends one value read at r.pos (its tag already read) to the bound column. */
type Put = (r: WireReader) => void;

interface ValuePlan {
  readonly wire: number;
  readonly packable: boolean;
  readonly put: Put;
  /** Appends the absent value of implicit presence (the type's default). */
  readonly zero: () => void;
  /** Reads the value as a JS value (map keys, for the duplicate check). */
  readonly peek?: (r: WireReader) => unknown;
}

const LONG_MAX = (1n << 63n) - 1n;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

function tooBig(path: string, v: bigint): never {
  throw new KiceError(
    'DECODE_FAILED',
    `field "${path}": uint64 value ${v} does not fit a long (above 2^63-1)`,
  );
}

/** Appends a long read as number-or-bigint. */
function long(n: NumberNode | Int64Node, v: number | bigint): void {
  if (typeof v === 'number') n.col.append(v);
  else n.col.appendBig(v);
}

function scalarPlan(type: string, n: Node, path: string): ValuePlan {
  if (type === 'bool') {
    const b = n as BoolNode;
    return {
      wire: WIRE_VARINT,
      packable: true,
      put: (r) => b.col.append(r.bool()),
      zero: () => b.col.append(false),
      peek: (r) => r.bool(),
    };
  }
  if (type === 'string' || type === 'bytes') {
    const b = n as BytesNode;
    const str = type === 'string';
    return {
      wire: WIRE_LEN,
      packable: false,
      put: (r) => {
        const e = r.len();
        if (str && !r.validUtf8(r.pos, e)) corrupt(`field "${path}" is not valid UTF-8`);
        b.col.appendRange(r.buf, r.pos, e);
        r.pos = e;
      },
      zero: () => b.col.appendRange(EMPTY, 0, 0),
      peek: (r) => r.string(),
    };
  }
  const c = n as NumberNode;
  const num = (wire: number, read: (r: WireReader) => number): ValuePlan => ({
    wire,
    packable: true,
    put: (r) => c.col.append(read(r)),
    zero: () => c.col.append(0),
    peek: read,
  });
  const big = (wire: number, read: (r: WireReader) => number | bigint): ValuePlan => ({
    wire,
    packable: true,
    put: (r) => long(c, read(r)),
    zero: () => c.col.append(0),
    peek: read,
  });
  switch (type) {
    case 'int32':
      return num(WIRE_VARINT, (r) => r.int32());
    case 'sint32':
      return num(WIRE_VARINT, (r) => r.sint32());
    case 'sfixed32':
      return num(WIRE_I32, (r) => r.sfixed32());
    case 'uint32':
      return num(WIRE_VARINT, (r) => r.uint32());
    case 'fixed32':
      return num(WIRE_I32, (r) => r.fixed32());
    case 'float':
      return num(WIRE_I32, (r) => r.float());
    case 'double':
      return num(WIRE_I64, (r) => r.double());
    case 'int64':
      return big(WIRE_VARINT, (r) => r.int64n());
    case 'sint64':
      return big(WIRE_VARINT, (r) => r.sint64n());
    case 'sfixed64':
      return big(WIRE_I64, (r) => {
        const v = r.sfixed64();
        return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
      });
    case 'uint64':
      return big(WIRE_VARINT, (r) => {
        const v = r.uint64n();
        return typeof v === 'bigint' && v > LONG_MAX ? tooBig(path, v) : v;
      });
    case 'fixed64':
      return big(WIRE_I64, (r) => {
        const v = r.fixed64();
        if (v > LONG_MAX) tooBig(path, v);
        return v <= 9007199254740991n ? Number(v) : v;
      });
    default:
      throw new KiceError('INTERNAL', `protobuf: no appender for "${type}"`);
  }
}

function enumPlan(e: protobuf.Enum, n: Node): ValuePlan {
  const b = n as BytesNode;
  const names = new Map<number, Uint8Array>();
  for (const [k, v] of Object.entries(e.values)) if (!names.has(v)) names.set(v, encoder.encode(k));
  const zero = names.get(0) ?? encoder.encode('0');
  const put = (v: number) => {
    const name = names.get(v);
    if (name) b.col.appendRange(name, 0, name.length);
    else b.col.appendString(String(v));
  };
  return {
    wire: WIRE_VARINT,
    packable: true,
    put: (r) => put(r.int32()),
    zero: () => b.col.appendRange(zero, 0, zero.length),
    peek: (r) => r.int32(),
  };
}

/** (seconds, nanos) messages → µs in a long/timestamp column. */
function secondsNanosPlan(n: Node, path: string, floor: boolean): ValuePlan {
  const c = n as NumberNode | Int64Node;
  return {
    wire: WIRE_LEN,
    packable: false,
    put: (r) =>
      within(r, (r, end) => {
        let s: number | bigint = 0;
        let ns = 0;
        eachTag(r, end, (f, w) => {
          if (f === 1) {
            expectWire(`${path}.seconds`, f, w, WIRE_VARINT);
            s = r.int64n();
          } else if (f === 2) {
            expectWire(`${path}.nanos`, f, w, WIRE_VARINT);
            ns = r.int32();
          } else return false;
          return true;
        });
        const us = floor ? Math.floor(ns / 1000) : Math.trunc(ns / 1000);
        if (typeof s === 'number' && Math.abs(s) < 9_000_000_000) c.col.append(s * 1_000_000 + us);
        else c.col.appendBig(BigInt(s) * 1_000_000n + BigInt(us));
      }),
    zero: () => c.col.appendNull(),
  };
}

/** A message kept as JSON text: `read` gives the value (or, with `text`, the text itself). */
function jsonPlan(n: Node, read: (r: WireReader, end: number) => unknown, text = false): ValuePlan {
  const b = n as BytesNode;
  return {
    wire: WIRE_LEN,
    packable: false,
    put: (r) => {
      const v = within(r, read);
      b.col.appendString(text ? (v as string) : (JSON.stringify(v) ?? 'null'));
    },
    zero: () => b.col.appendNull(),
  };
}

const WRAPPED: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

function wellKnownPlan(name: string, n: Node, path: string): ValuePlan | undefined {
  switch (name) {
    case 'google.protobuf.Timestamp':
      return secondsNanosPlan(n, path, true);
    case 'google.protobuf.Duration':
      return secondsNanosPlan(n, path, false);
    case 'google.protobuf.Struct':
      return jsonPlan(n, readStruct);
    case 'google.protobuf.Value':
      return jsonPlan(n, readValue);
    case 'google.protobuf.ListValue':
      return jsonPlan(n, readList);
    case 'google.protobuf.Any':
      return jsonPlan(n, readAny, true);
  }
  const inner = WRAPPED[name];
  if (inner === undefined) return undefined;
  const v = scalarPlan(inner, n, `${path}.value`);
  return {
    wire: WIRE_LEN,
    packable: false,
    put: (r) =>
      within(r, (r, end) => {
        let set = false;
        eachTag(r, end, (f, w) => {
          if (f !== 1) return false;
          expectWire(`${path}.value`, f, w, v.wire);
          if (set) truncate(n, n.col.length - 1);
          v.put(r);
          set = true;
          return true;
        });
        if (!set) v.zero();
      }),
    zero: () => appendNull(n),
  };
}

enum Mode {
  Single = 0,
  Message = 1,
  Repeated = 2,
  Map = 3,
}

interface Slot {
  readonly field: number;
  readonly path: string;
  readonly mode: Mode;
  readonly node: Node;
  readonly value: ValuePlan;
  /** Implicit presence: the absent value is the default, not null. */
  readonly implicit: boolean;
  /** Map fields: the key's plan (value is `value`, into the map's value node). */
  readonly key?: ValuePlan;
  readonly valueNode?: Node;
  readonly valueImplicit?: boolean;
  /** Slot indexes of the other members of this field's oneof. */
  siblings: number[];
  /** Stamp of the last message that set this slot. */
  seen: number;
}

/** The appender of one message type into one struct node. */
export class MessageAppender {
  private readonly slots: Slot[] = [];
  private readonly dense: (Slot | undefined)[] = [];
  private readonly sparse = new Map<number, Slot>();
  /** Children of the node that the writer does not have (null every row). */
  private readonly missing: Node[];
  private stamp = 0;

  constructor(
    t: protobuf.Type,
    private readonly node: StructNode,
  ) {
    const byName = new Map<string, number>();
    for (const f of t.fieldsArray) {
      const child = node.byName.get(f.name);
      if (child === undefined)
        throw new KiceError('INTERNAL', `protobuf: no column for "${node.path}.${f.name}"`);
      const s = slotOf(f, child);
      byName.set(f.name, this.slots.length);
      this.slots.push(s);
      if (f.id < 256) this.dense[f.id] = s;
      else this.sparse.set(f.id, s);
    }
    for (const f of t.fieldsArray) {
      if (!f.partOf) continue;
      const s = this.slots[byName.get(f.name) as number] as Slot;
      s.siblings = f.partOf.oneof
        .filter((m) => m !== f.name)
        .map((m) => byName.get(m))
        .filter((i): i is number => i !== undefined);
    }
    const names = new Set(t.fieldsArray.map((f) => f.name));
    this.missing = node.children.filter((c) => !names.has(c.name));
  }

  /** Appends the message in r.buf[r.pos, end) as one row of the node. */
  append(r: WireReader, end: number): void {
    const stamp = ++this.stamp;
    while (r.pos < end) {
      const tag = r.uint32();
      const f = tag >>> 3;
      const w = tag & 7;
      if (f === 0) corrupt('field number 0');
      const s = f < 256 ? this.dense[f] : this.sparse.get(f);
      if (s === undefined) {
        r.skip(w, f);
        continue;
      }
      switch (s.mode) {
        case Mode.Single:
          expectWire(s.path, f, w, s.value.wire);
          if (s.seen === stamp) truncate(s.node, s.node.col.length - 1);
          s.value.put(r);
          break;
        case Mode.Message:
          expectWire(s.path, f, w, WIRE_LEN);
          if (s.seen === stamp) {
            throw new KiceError(
              'DECODE_FAILED',
              `field "${s.path}": a message field appears twice (concatenated messages are not merged)`,
            );
          }
          s.value.put(r);
          break;
        case Mode.Repeated:
          if (w === WIRE_LEN && s.value.packable) {
            const e = r.len();
            while (r.pos < e) s.value.put(r);
          } else {
            expectWire(s.path, f, w, s.value.wire);
            s.value.put(r);
          }
          break;
        case Mode.Map:
          expectWire(s.path, f, w, WIRE_LEN);
          this.entry(r, s, stamp);
          break;
      }
      if (s.seen !== stamp) {
        s.seen = stamp;
        for (const k of s.siblings) {
          const o = this.slots[k] as Slot;
          if (o.seen === stamp) {
            truncate(o.node, o.node.col.length - 1);
            o.seen = 0;
          }
        }
      }
    }
    for (const s of this.slots) {
      switch (s.mode) {
        case Mode.Single:
        case Mode.Message:
          if (s.seen !== stamp) {
            if (s.implicit) s.value.zero();
            else appendNull(s.node);
          }
          break;
        case Mode.Repeated: {
          const n = s.node as Extract<Node, { kind: typeof Kind.List }>;
          n.col.append(true, n.element.col.length);
          break;
        }
        case Mode.Map: {
          const n = s.node as Extract<Node, { kind: typeof Kind.Map }>;
          n.col.append(true, n.key.col.length);
          this.keys.get(s)?.clear();
          break;
        }
      }
    }
    for (const c of this.missing) appendNull(c);
    this.node.col.append(true);
  }

  /** Keys of each map slot in the current message (duplicate check). */
  private readonly keys = new Map<Slot, Set<unknown>>();

  private entry(r: WireReader, s: Slot, stamp: number): void {
    const key = s.key as ValuePlan;
    within(r, (r, e) => {
      let kAt = -1;
      let vAt = -1;
      eachTag(r, e, (g, gw) => {
        if (g === 1) {
          expectWire(`${s.path}.key`, g, gw, key.wire);
          kAt = r.pos;
        } else if (g === 2) {
          expectWire(`${s.path}.value`, g, gw, s.value.wire);
          vAt = r.pos;
        } else return false;
        r.skip(gw, g);
        return true;
      });
      let seen = this.keys.get(s);
      if (seen === undefined) {
        seen = new Set();
        this.keys.set(s, seen);
      }
      if (s.seen !== stamp) seen.clear();
      let k: unknown = null;
      if (kAt >= 0) {
        r.pos = kAt;
        k = (key.peek as (r: WireReader) => unknown)(r);
      }
      if (seen.has(k)) {
        throw new KiceError(
          'DECODE_FAILED',
          `field "${s.path}": map key ${JSON.stringify(typeof k === 'bigint' ? String(k) : k) ?? 'default'} appears twice`,
        );
      }
      seen.add(k);
      if (kAt >= 0) {
        r.pos = kAt;
        key.put(r);
      } else key.zero();
      if (vAt >= 0) {
        r.pos = vAt;
        s.value.put(r);
      } else if (s.valueImplicit) s.value.zero();
      else appendNull(s.valueNode as Node);
      r.pos = e;
    });
  }
}

/** The plan of one value of field `f` into node `n` (the column, or list element / map value). */
function valuePlan(f: protobuf.Field, n: Node): ValuePlan {
  const rt = f.resolvedType;
  if (rt === null) return scalarPlan(f.type, n, n.path);
  if (rt instanceof protobuf.Enum) return enumPlan(rt, n);
  const wk = wellKnownPlan(typeName(rt), n, n.path);
  if (wk) return wk;
  const sub = new MessageAppender(rt as protobuf.Type, n as StructNode);
  return {
    wire: WIRE_LEN,
    packable: false,
    put: (r) => within(r, (r, e) => sub.append(r, e)),
    zero: () => appendNull(n),
  };
}

function slotOf(f: protobuf.Field, n: Node): Slot {
  const base = { field: f.id, path: n.path, node: n, siblings: [], seen: 0 };
  if (f.map) {
    const m = n as Extract<Node, { kind: typeof Kind.Map }>;
    const key = scalarPlan((f as unknown as protobuf.MapField).keyType, m.key, m.key.path);
    return {
      ...base,
      mode: Mode.Map,
      value: valuePlan(f, m.value),
      implicit: false,
      key,
      valueNode: m.value,
      valueImplicit: !(f.resolvedType instanceof protobuf.Type),
    };
  }
  if (f.repeated) {
    const l = n as Extract<Node, { kind: typeof Kind.List }>;
    return { ...base, mode: Mode.Repeated, value: valuePlan(f, l.element), implicit: false };
  }
  const message =
    f.resolvedType instanceof protobuf.Type && WRAPPED[typeName(f.resolvedType)] === undefined;
  const explicit =
    f.partOf !== null ||
    f.resolvedType instanceof protobuf.Type ||
    (f as unknown as { hasPresence: boolean }).hasPresence;
  return {
    ...base,
    mode: message ? Mode.Message : Mode.Single,
    value: valuePlan(f, n),
    implicit: !explicit,
  };
}

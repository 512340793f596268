/**
 * Component benchmark: Confluent-framed Protobuf → Arrow (decodeProtobufBatch, as the
 * worker pool runs it for `format: protobuf`), one thread, on the benchmark's own events
 * (data.ts) as a Protobuf message of the same shape (`ts` as google.protobuf.Timestamp).
 * The events are encoded here with a small writer of the wire format
 * (https://protobuf.dev/programming-guides/encoding/), framed as magic 0, schema id 1,
 * message indexes [0]; the schema text travels with the batch as on the coordinator.
 * Reported beside JSON → Arrow (codec.ts).
 */
import type { StructType } from '@kice/iceberg';
import { decodeProtobufBatch } from '../../../packages/core/src/registry/protobuf-batch.ts';
import { makeEvent } from '../data.ts';
import { round } from '../systems/common.ts';

export interface ProtobufDecodeResult {
  readonly batchRows: number;
  readonly rowsPerSecond: number;
  /** Framed Protobuf input megabytes (10^6) decoded per second. */
  readonly mbPerSecond: number;
  /** Average framed record size in bytes. */
  readonly bytesPerRecord: number;
}

export const EVENT_PROTO = `syntax = "proto3";
package kice.bench;
import "google/protobuf/timestamp.proto";
message Event {
  string event_id = 1;
  int64 user_id = 2;
  string session_id = 3;
  google.protobuf.Timestamp ts = 4;
  string type = 5;
  string page = 6;
  double price = 7;
  int32 qty = 8;
  double score = 9;
  bool is_mobile = 10;
  bool premium = 11;
  Geo geo = 12;
  Device device = 13;
  message Geo {
    string country = 1;
    string city = 2;
    double lat = 3;
    double lon = 4;
  }
  message Device {
    string os = 1;
    string browser = 2;
  }
}
`;

/** A minimal Protobuf writer: just what the event needs. */
class Writer {
  private readonly parts: number[] = [];
  varint(n: number): this {
    let v = n;
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s));
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  double(field: number, d: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(d);
    this.tag(field, 1);
    for (const x of b) this.parts.push(x);
    return this;
  }
  uint(field: number, n: number): this {
    return n === 0 ? this : this.tag(field, 0).varint(n);
  }
  bool(field: number, v: boolean): this {
    return v ? this.tag(field, 0).varint(1) : this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Event `i` as a framed Protobuf record value. */
export function eventProtobuf(i: number): Uint8Array {
  const e = makeEvent(i) as Record<string, unknown> & {
    geo: Record<string, unknown>;
    device: Record<string, unknown>;
  };
  const ms = Date.parse(e.ts as string);
  const ts = new Writer()
    .uint(1, Math.floor(ms / 1000))
    .uint(2, (ms % 1000) * 1_000_000)
    .finish();
  const geo = new Writer()
    .string(1, e.geo.country as string)
    .string(2, e.geo.city as string)
    .double(3, e.geo.lat as number)
    .double(4, e.geo.lon as number)
    .finish();
  const device = new Writer()
    .string(1, e.device.os as string)
    .string(2, e.device.browser as string)
    .finish();
  const body = new Writer()
    .string(1, e.event_id as string)
    .uint(2, e.user_id as number)
    .string(3, e.session_id as string)
    .bytes(4, ts)
    .string(5, e.type as string)
    .string(6, e.page as string)
    .double(7, e.price as number)
    .uint(8, e.qty as number)
    .double(9, e.score as number)
    .bool(10, e.is_mobile as boolean)
    .bool(11, e.premium as boolean)
    .bytes(12, geo)
    .bytes(13, device)
    .finish();
  const out = new Uint8Array(6 + body.length);
  out.set([0, 0, 0, 0, 1, 0]);
  out.set(body, 6);
  return out;
}

function timeIt(fn: () => void, minSeconds: number): number {
  fn();
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    fn();
    calls++;
    elapsed = (performance.now() - t0) / 1000;
  } while (elapsed < minSeconds);
  return elapsed / calls;
}

/** Measures Protobuf → Arrow on batches of `batchRows` events for ≥ `minSeconds`. */
export function benchProtobufDecode(batchRows: number, minSeconds: number): ProtobufDecodeResult {
  const parts = Array.from({ length: batchRows }, (_, i) => eventProtobuf(i));
  const offsets = new Int32Array(batchRows + 1);
  parts.forEach((p, i) => {
    offsets[i + 1] = (offsets[i] as number) + p.length;
  });
  const bytes = new Uint8Array(Buffer.concat(parts));
  const schemas = { 1: { schema: EVENT_PROTO, references: [] } };
  const empty: StructType = { type: 'struct', fields: [] };
  // First call maps the schema; steady state decodes against the evolved one, as workers do.
  const schema = decodeProtobufBatch({ bytes, offsets, schema: empty, schemas }).schema;
  const sec = timeIt(() => {
    const r = decodeProtobufBatch({ bytes, offsets, schema, schemas });
    if (r.rows !== batchRows)
      throw new Error(`decoded ${r.rows} of ${batchRows} rows: ${r.errors[0]?.reason}`);
  }, minSeconds);
  return {
    batchRows,
    rowsPerSecond: Math.round(batchRows / sec),
    mbPerSecond: round(bytes.byteLength / 1e6 / sec, 1),
    bytesPerRecord: Math.round(bytes.byteLength / batchRows),
  };
}

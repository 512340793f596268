/**
 * The benchmark's own events (data.ts) as Confluent-framed Protobuf values, for the
 * Protobuf entry of the bench's decode component (codec.ts DECODE_FORMATS): a message of
 * the same shape (`ts` as google.protobuf.Timestamp), encoded here with a small writer of
 * the wire format (https://protobuf.dev/programming-guides/encoding/), not kice's code,
 * and framed as magic 0, schema id 1, message indexes [0]. The schema text travels with
 * the batch as on the coordinator.
 */
import { makeEvent } from '../data.ts';

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

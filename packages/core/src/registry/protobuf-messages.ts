/**
 * Small Protobuf message readers shared by the appenders (registry/protobuf-append.ts):
 * reading a length-delimited sub-message with its end as the bound, walking a message's
 * tags, the wire-type check of a declared field, and google.protobuf.Struct / Value /
 * ListValue (→ JS values, kept as their Protobuf JSON text) and Any (→ JSON text
 * {"@type": url, "value": base64 bytes}).
 *
 * JSON mapping of the well-known types: https://protobuf.dev/programming-guides/json/
 * Encoding: https://protobuf.dev/programming-guides/encoding/
 */
import { corrupt, type WireReader } from './protobuf-wire.ts';

const EMPTY = new Uint8Array(0);

/** Reads a length-delimited sub-message at r.pos with `body` (r.end narrowed to it). */
export function within<T>(r: WireReader, body: (r: WireReader, end: number) => T): T {
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
export function eachTag(
  r: WireReader,
  end: number,
  on: (field: number, wire: number) => boolean,
): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const f = tag >>> 3;
    const w = tag & 7;
    if (f === 0) corrupt('field number 0');
    if (!on(f, w)) r.skip(w, f);
  }
}

export function expectWire(path: string, field: number, wire: number, want: number): void {
  if (wire !== want)
    corrupt(`field "${path}" (number ${field}) has wire type ${wire}, expected ${want}`);
}

export function readValue(r: WireReader, end: number): unknown {
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

export function readStruct(r: WireReader, end: number): Record<string, unknown> {
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

export function readList(r: WireReader, end: number): unknown[] {
  const out: unknown[] = [];
  eachTag(r, end, (f) => {
    if (f !== 1) return false;
    out.push(within(r, readValue));
    return true;
  });
  return out;
}

export function readAny(r: WireReader, end: number): string {
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

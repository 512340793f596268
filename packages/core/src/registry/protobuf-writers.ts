/**
 * How a Protobuf writer is found, shared by values (protobuf-batch.ts) and keys
 * (key-codecs.ts): a registry schema parsed once per worker (protobuf-schema.ts), and the
 * message indexes after the frame header read as a variant string ("0", "1,0"…) that
 * names the message within the schema file. The short form [0] is read without allocating.
 *
 * Wire format: https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */
import type { VariantOut } from './batch-driver.ts';
import type { ResolvedSchema } from './formats.ts';
import { type ProtoSchema, parseProtoSchema } from './protobuf-schema.ts';
import { readMessageIndexes, WireReader } from './protobuf-wire.ts';

/** Parsed schemas by text (+ references), per worker. */
const parsed = new Map<string, ProtoSchema>();
const MAX_PARSED = 256;

/** The parsed schema of `s`, once per worker (shared with key-codecs.ts). */
export function parsedProtoSchema(s: ResolvedSchema): ProtoSchema {
  const key = s.references.length === 0 ? s.schema : JSON.stringify([s.schema, s.references]);
  let p = parsed.get(key);
  if (p === undefined) {
    p = parseProtoSchema(s);
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(key, p);
  }
  return p;
}

/** The variant of the short form [0] (and of an explicit [0]). */
const FIRST = '0';
let indexReader: WireReader | undefined;

/** Reads the message indexes at bytes[start, end) into `out.variant` ("0,2"…); returns
 * where the message starts (shared with key-codecs.ts). */
export function readIndexes(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: VariantOut,
): number {
  if (start < end && bytes[start] === 0) {
    out.variant = FIRST;
    return start + 1;
  }
  if (indexReader?.buf !== bytes) indexReader = new WireReader(bytes);
  const r = indexReader;
  r.pos = start;
  r.end = end;
  out.variant = readMessageIndexes(r).join(',');
  return r.pos;
}

export const indexesOf = (variant: string): number[] => variant.split(',').map(Number);

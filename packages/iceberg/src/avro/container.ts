/**
 * Avro Object Container Files: the framing of Iceberg manifests and manifest lists.
 *
 * Spec: https://avro.apache.org/docs/1.11.1/specification/#object-container-files
 *
 *   file   := magic "Obj\x01" · meta: map<bytes> · sync: fixed[16] · block*
 *   meta   := "avro.schema" → schema JSON, "avro.codec" → "null" | "deflate", caller keys
 *   block  := count: long · size: long · data: bytes[size] (codec-compressed records) · sync
 *
 * The header schema is written as the JSON string of the schema object given, untouched, so
 * Iceberg's attributes (field-id, element-id, key-id, value-id, logicalType "map") survive.
 * "deflate" is raw DEFLATE (RFC 1951, no zlib header), as the Avro spec requires.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { IcebergError } from '../errors.ts';
import { AvroReader, decodeAvro } from './decoder.ts';
import { AvroWriter, encodeAvro } from './encoder.ts';
import { parseAvroSchema } from './schema.ts';

/** Compression codecs this implementation writes and reads. */
export type AvroCodec = 'null' | 'deflate';

export interface WriteAvroOptions {
  /** Block compression; default "null". */
  readonly codec?: AvroCodec;
  /** Extra header metadata (UTF-8 strings). Keys starting with "avro." are reserved. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Uncompressed bytes after which a block is closed; default 64,000 (as Java's Avro). */
  readonly blockSize?: number;
  /** The 16-byte sync marker; random by default (fix it only for byte-exact tests). */
  readonly syncMarker?: Uint8Array;
}

export interface AvroFile {
  /** The writer schema from the header, parsed from its JSON. */
  readonly schema: object;
  /** Every header metadata entry decoded as UTF-8, "avro.schema" and "avro.codec" included. */
  readonly metadata: Record<string, string>;
  readonly records: Record<string, unknown>[];
}

const MAGIC = new Uint8Array([0x4f, 0x62, 0x6a, 0x01]);
const SYNC_SIZE = 16;
const utf8Encode = new TextEncoder();
const utf8Decode = new TextDecoder('utf-8', { fatal: true });

function invalid(msg: string, context: Record<string, unknown> = {}): never {
  throw new IcebergError('INVALID_AVRO', msg, { context });
}

/** Serializes `records` (objects keyed by field name) into an Avro container file. */
export function writeAvroFile(
  schema: object,
  records: Iterable<Record<string, unknown>>,
  opts: WriteAvroOptions = {},
): Uint8Array {
  const codec = opts.codec ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') {
    throw new IcebergError('UNSUPPORTED', `avro codec "${codec}" is not supported`, {
      context: { codec },
    });
  }
  const blockSize = opts.blockSize ?? 64_000;
  const sync = opts.syncMarker ?? crypto.getRandomValues(new Uint8Array(SYNC_SIZE));
  if (sync.length !== SYNC_SIZE) invalid(`sync marker must be ${SYNC_SIZE} bytes`);
  const root = parseAvroSchema(schema);

  const out = new AvroWriter(4096);
  out.raw(MAGIC);
  const meta: [string, string][] = [
    ['avro.schema', JSON.stringify(schema)],
    ['avro.codec', codec],
  ];
  for (const [k, v] of Object.entries(opts.metadata ?? {})) {
    if (k.startsWith('avro.')) {
      throw new IcebergError('INVALID_ARGUMENT', `metadata key "${k}" is reserved by Avro`, {
        context: { key: k },
      });
    }
    meta.push([k, v]);
  }
  out.long(meta.length);
  for (const [k, v] of meta) {
    out.string(k);
    out.bytesValue(utf8Encode.encode(v));
  }
  out.long(0);
  out.raw(sync);

  const block = new AvroWriter(Math.min(blockSize, 1 << 20) + 1024);
  let count = 0;
  const flush = (): void => {
    if (count === 0) return;
    const data = codec === 'deflate' ? asUint8Array(deflateRawSync(block.bytes())) : block.bytes();
    out.long(count);
    out.long(data.length);
    out.raw(data);
    out.raw(sync);
    block.reset();
    count = 0;
  };
  let i = 0;
  for (const rec of records) {
    encodeAvro(block, root, rec, `records[${i++}]`);
    count++;
    if (block.length >= blockSize) flush();
  }
  flush();
  return out.bytes().slice();
}

function asUint8Array(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Parses an Avro container file, decoding its records with the schema in its header. */
export function readAvroFile(bytes: Uint8Array): AvroFile {
  if (bytes.length < MAGIC.length + 1 + SYNC_SIZE || !MAGIC.every((b, i) => bytes[i] === b)) {
    invalid('not an Avro container file (bad magic)');
  }
  const r = new AvroReader(bytes, MAGIC.length);
  const metadata: Record<string, string> = {};
  for (let n = r.safeLong(); n !== 0; n = r.safeLong()) {
    if (n < 0) {
      n = -n;
      r.safeLong();
    }
    for (let i = 0; i < n; i++) {
      const k = r.string();
      metadata[k] = utf8Decode.decode(r.bytesView());
    }
  }
  const sync = r.raw(SYNC_SIZE);

  const schemaText = metadata['avro.schema'];
  if (schemaText === undefined) invalid('avro header has no avro.schema');
  let schema: object;
  try {
    schema = JSON.parse(schemaText) as object;
  } catch (cause) {
    throw new IcebergError('INVALID_AVRO', 'avro.schema is not valid JSON', { cause });
  }
  const root = parseAvroSchema(schema);
  const codec = metadata['avro.codec'] ?? 'null';
  if (codec !== 'null' && codec !== 'deflate') {
    throw new IcebergError('UNSUPPORTED', `avro codec "${codec}" is not supported`, {
      context: { codec },
    });
  }

  const records: Record<string, unknown>[] = [];
  while (r.remaining > 0) {
    const blockStart = r.pos;
    const count = r.safeLong();
    const size = r.safeLong();
    const raw = r.raw(size);
    // A plain Uint8Array view: Buffer#slice would return views, not copies, of decoded bytes.
    const data = codec === 'deflate' ? asUint8Array(inflateRawSync(raw)) : raw;
    const br = new AvroReader(data);
    for (let i = 0; i < count; i++) {
      records.push(decodeAvro(br, root) as Record<string, unknown>);
    }
    if (br.remaining !== 0) {
      invalid(`avro block at byte ${blockStart} has ${br.remaining} bytes after its records`, {
        offset: blockStart,
      });
    }
    const marker = r.raw(SYNC_SIZE);
    if (!marker.every((b, i) => b === sync[i])) {
      invalid(`avro block at byte ${blockStart} does not end with the sync marker`, {
        offset: blockStart,
      });
    }
  }
  return { schema, metadata, records };
}

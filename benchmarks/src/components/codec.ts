/**
 * Component benchmarks of one thread's work per batch: value format → Arrow decode (as the
 * worker pool runs it: decodeJsonBatch for JSON, the registry batch decoder for Avro), one
 * entry per format in DECODE_FORMATS, and Arrow → Parquet encode (writeParquet, snappy, as
 * a flush runs it), all on the benchmark's own events (data.ts) in one run; the decodes
 * are interleaved in rounds so that a change of machine load affects every format alike.
 *
 * The Avro entry encodes the same events with avsc (an independent encoder, not kice's
 * code) under EVENT_AVRO_SCHEMA and frames them in the Confluent wire format, as a
 * Schema Registry serializer would; the Protobuf entry encodes them as a message of the
 * same shape (protobuf-events.ts) in Confluent's Protobuf framing. The json-escaped and
 * json-map entries are the event with escaped strings and with a map column
 * (json-shapes.ts).
 */
import { type StructType, writeParquet } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import avro from 'avsc';
import { decodeJsonBatch } from '../../../packages/core/src/decode/json-decoder.ts';
import { decodeRegistryBatch } from '../../../packages/core/src/registry/batch.ts';
import { eventBytes, makeEvent } from '../data.ts';
import { round } from '../systems/common.ts';
import { escapedEventBytes, mapEventBytes, mapEventSchema } from './json-shapes.ts';
import { EVENT_PROTO, eventProtobuf } from './protobuf-events.ts';

/** One format's decode rate. */
export interface DecodeRate {
  /** The value format ("json", "avro", …). */
  readonly format: string;
  readonly rowsPerSecond: number;
  /** Input megabytes (10^6) decoded per second. */
  readonly mbPerSecond: number;
  /** Mean input bytes per record (framing included). */
  readonly bytesPerRow: number;
}

export interface CodecResult {
  readonly batchRows: number;
  /** JSON → Arrow (the same as decode's "json" entry). */
  readonly decodeRowsPerSecond: number;
  /** JSON input megabytes (10^6) decoded per second. */
  readonly decodeMbPerSecond: number;
  /** Every format's decode rate, in DECODE_FORMATS order. */
  readonly decode: readonly DecodeRate[];
  readonly parquetRowsPerSecond: number;
  /** Arrow (IPC) megabytes encoded to Parquet per second. */
  readonly parquetArrowMbPerSecond: number;
  /** Parquet bytes / JSON bytes. */
  readonly parquetToJsonRatio: number;
}

/** Packs values as the coordinator packs them: bytes + offsets. */
function pack(parts: readonly Uint8Array[]): { bytes: Uint8Array; offsets: Int32Array } {
  const offsets = new Int32Array(parts.length + 1);
  let total = 0;
  parts.forEach((p, i) => {
    offsets[i] = total;
    total += p.length;
  });
  offsets[parts.length] = total;
  return { bytes: Buffer.concat(parts), offsets };
}

/** Batch of JSON events 0..rows-1 packed as the coordinator packs them: bytes + offsets. */
export function packBatch(rows: number): { bytes: Uint8Array; offsets: Int32Array } {
  return pack(Array.from({ length: rows }, (_, i) => eventBytes(i)));
}

/** The bench event (data.ts makeEvent) as an Avro record; ts as timestamp-micros. */
export const EVENT_AVRO_SCHEMA = {
  type: 'record',
  name: 'Event',
  namespace: 'kice.bench',
  fields: [
    { name: 'event_id', type: 'string' },
    { name: 'user_id', type: 'long' },
    { name: 'session_id', type: 'string' },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'type', type: 'string' },
    { name: 'page', type: 'string' },
    { name: 'price', type: 'double' },
    { name: 'qty', type: 'int' },
    { name: 'score', type: 'double' },
    { name: 'is_mobile', type: 'boolean' },
    { name: 'premium', type: 'boolean' },
    {
      name: 'geo',
      type: {
        type: 'record',
        name: 'Geo',
        fields: [
          { name: 'country', type: 'string' },
          { name: 'city', type: 'string' },
          { name: 'lat', type: 'double' },
          { name: 'lon', type: 'double' },
        ],
      },
    },
    {
      name: 'device',
      type: {
        type: 'record',
        name: 'Device',
        fields: [
          { name: 'os', type: 'string' },
          { name: 'browser', type: 'string' },
        ],
      },
    },
  ],
};

/** Schema id the Avro batch's frames name (any id: the bench resolves it itself). */
const AVRO_SCHEMA_ID = 1;

/** Event `i` encoded by avsc and framed (magic 0, big-endian schema id, datum). */
function avroEventBytes(type: avro.Type, i: number): Buffer {
  const e = makeEvent(i);
  const datum = type.toBuffer({ ...e, ts: Date.parse(e.ts as string) * 1000 });
  const header = Buffer.alloc(5);
  header.writeUInt32BE(AVRO_SCHEMA_ID, 1);
  return Buffer.concat([header, datum]);
}

/** A format's batch and its steady-state decode (against the schema a first call found). */
interface DecodeEntry {
  readonly format: string;
  /** Packs `rows` events; returns a function decoding that batch once (its row count). */
  prepare(rows: number): { bytes: number; decode: () => { rows: number; ipc: Uint8Array } };
}

const empty: StructType = { type: 'struct', fields: [] };

/** One entry per value format. */
export const DECODE_FORMATS: readonly DecodeEntry[] = [
  {
    format: 'json',
    prepare(rows) {
      const { bytes, offsets } = packBatch(rows);
      // First call infers the schema; steady state decodes against it, as workers do.
      const schema = decodeJsonBatch({ bytes, offsets, schema: empty }).schema;
      return { bytes: bytes.byteLength, decode: () => decodeJsonBatch({ bytes, offsets, schema }) };
    },
  },
  {
    format: 'json-escaped',
    prepare(rows) {
      const { bytes, offsets } = pack(Array.from({ length: rows }, (_, i) => escapedEventBytes(i)));
      const schema = decodeJsonBatch({ bytes, offsets, schema: empty }).schema;
      return { bytes: bytes.byteLength, decode: () => decodeJsonBatch({ bytes, offsets, schema }) };
    },
  },
  {
    format: 'json-map',
    prepare(rows) {
      const { bytes, offsets } = pack(Array.from({ length: rows }, (_, i) => mapEventBytes(i)));
      const schema = mapEventSchema(bytes, offsets);
      return { bytes: bytes.byteLength, decode: () => decodeJsonBatch({ bytes, offsets, schema }) };
    },
  },
  {
    format: 'avro',
    prepare(rows) {
      const type = avro.Type.forSchema(EVENT_AVRO_SCHEMA as avro.Schema);
      const { bytes, offsets } = pack(
        Array.from({ length: rows }, (_, i) => avroEventBytes(type, i)),
      );
      const schemas = {
        [AVRO_SCHEMA_ID]: { schema: JSON.stringify(EVENT_AVRO_SCHEMA), references: [] },
      };
      const input = { bytes, offsets, schemas, unknown: {} };
      const schema = decodeRegistryBatch('avro', { ...input, schema: empty }).schema;
      return {
        bytes: bytes.byteLength,
        decode: () => decodeRegistryBatch('avro', { ...input, schema }),
      };
    },
  },
  {
    format: 'protobuf',
    prepare(rows) {
      const { bytes, offsets } = pack(Array.from({ length: rows }, (_, i) => eventProtobuf(i)));
      const schemas = { 1: { schema: EVENT_PROTO, references: [] } };
      const input = { bytes, offsets, schemas, unknown: {} };
      const schema = decodeRegistryBatch('protobuf', { ...input, schema: empty }).schema;
      return {
        bytes: bytes.byteLength,
        decode: () => decodeRegistryBatch('protobuf', { ...input, schema }),
      };
    },
  },
];

/** Repeats `fn` for at least `minSeconds` (after one warm-up call); seconds per call. */
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

/** Rounds over which the formats' decodes are interleaved (a load change hits them all). */
const ROUNDS = 5;

/** Measures decode (every format) and encode on batches of `batchRows` events for ≥ `minSeconds` each. */
export function benchCodec(batchRows: number, minSeconds: number): CodecResult {
  const batches = DECODE_FORMATS.map((entry) => ({ entry, batch: entry.prepare(batchRows) }));
  const seconds = batches.map(() => 0);
  let jsonIpc: Uint8Array = new Uint8Array();
  for (let round = 0; round < ROUNDS; round++) {
    batches.forEach(({ entry, batch }, k) => {
      seconds[k] =
        (seconds[k] as number) +
        timeIt(() => {
          const r = batch.decode();
          if (r.rows !== batchRows)
            throw new Error(`${entry.format}: decoded ${r.rows} of ${batchRows} rows`);
          if (entry.format === 'json') jsonIpc = r.ipc;
        }, minSeconds / ROUNDS) /
          ROUNDS;
    });
  }
  const decode: DecodeRate[] = batches.map(({ entry, batch }, k) => ({
    format: entry.format,
    rowsPerSecond: Math.round(batchRows / (seconds[k] as number)),
    mbPerSecond: round(batch.bytes / 1e6 / (seconds[k] as number), 1),
    bytesPerRow: round(batch.bytes / batchRows, 1),
  }));
  const jsonBytes = batches.find((b) => b.entry.format === 'json')?.batch.bytes ?? 0;
  const json = decode.find((d) => d.format === 'json') as DecodeRate;
  const table = arrow.tableFromIPC(jsonIpc);
  let parquetBytes = 0;
  const encodeSec = timeIt(() => {
    parquetBytes = writeParquet(table, { compression: 'snappy' }).byteLength;
  }, minSeconds);
  return {
    batchRows,
    decodeRowsPerSecond: json.rowsPerSecond,
    decodeMbPerSecond: json.mbPerSecond,
    decode,
    parquetRowsPerSecond: Math.round(batchRows / encodeSec),
    parquetArrowMbPerSecond: round(jsonIpc.byteLength / 1e6 / encodeSec, 1),
    parquetToJsonRatio: round(parquetBytes / jsonBytes, 3),
  };
}

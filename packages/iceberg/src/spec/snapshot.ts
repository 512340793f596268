/**
 * Snapshots, snapshot references and summaries.
 *
 * Spec: https://iceberg.apache.org/spec/#snapshots and
 * https://iceberg.apache.org/spec/#snapshot-references
 *
 * JSON: {"snapshot-id":3055729675574597004,"parent-snapshot-id":...,"sequence-number":1,
 *        "timestamp-ms":1515100955770,"summary":{"operation":"append",...},
 *        "manifest-list":"s3://.../snap-....avro","schema-id":0}
 * Snapshot IDs are 63-bit: always bigint here, and JSON is read/written BigInt-safe.
 */
import {
  expectObject,
  intAt,
  type JsonObject,
  longAt,
  metadataError,
  stringAt,
  stringMapAt,
} from './json.ts';

export type SnapshotOperation = 'append' | 'replace' | 'overwrite' | 'delete';

export interface Snapshot {
  readonly snapshotId: bigint;
  readonly parentSnapshotId?: bigint;
  readonly sequenceNumber: number;
  readonly timestampMs: number;
  readonly manifestList: string;
  /** Always has `operation`; values are strings. */
  readonly summary: Readonly<Record<string, string>>;
  readonly schemaId?: number;
}

export interface SnapshotRef {
  readonly snapshotId: bigint;
  readonly type: 'branch' | 'tag';
  readonly minSnapshotsToKeep?: number;
  readonly maxSnapshotAgeMs?: number;
  readonly maxRefAgeMs?: number;
}

export interface SnapshotLogEntry {
  readonly timestampMs: number;
  readonly snapshotId: bigint;
}

export interface MetadataLogEntry {
  readonly timestampMs: number;
  readonly metadataFile: string;
}

// ---------------------------------------------------------------- JSON codecs

const OPERATIONS = new Set(['append', 'replace', 'overwrite', 'delete']);

/**
 * Reads a v2 snapshot (https://iceberg.apache.org/spec/#snapshots). `path` prefixes error
 * messages, e.g. "snapshots[2]." gives "snapshots[2].manifest-list: missing".
 *
 *   {"sequence-number": 1, "snapshot-id": 3055729675574597004,
 *    "parent-snapshot-id": 3051729675574597004, "timestamp-ms": 1555100955770,
 *    "summary": {"operation": "append", "added-data-files": "1", ...},
 *    "manifest-list": "s3://a/b/2.avro", "schema-id": 1}
 *
 * A missing sequence-number reads as 0 (as Java does for snapshots from v1 tables).
 */
export function snapshotFromJson(v: unknown, path = ''): Snapshot {
  const o = expectObject(v, path.replace(/\.$/, '') || 'snapshot');
  const summary = stringMapAt(o, 'summary', path);
  if (o.summary === undefined) metadataError(`${path}summary`, 'missing');
  const op = summary.operation;
  if (op === undefined) metadataError(`${path}summary.operation`, 'missing');
  if (!OPERATIONS.has(op)) metadataError(`${path}summary.operation`, `unknown operation "${op}"`);
  if (o['manifest-list'] === undefined && o.manifests !== undefined) {
    metadataError(`${path}manifest-list`, 'missing (embedded v1 "manifests" are not supported)');
  }
  return {
    snapshotId: longAt(o, 'snapshot-id', path),
    ...(o['parent-snapshot-id'] === undefined || o['parent-snapshot-id'] === null
      ? {}
      : { parentSnapshotId: longAt(o, 'parent-snapshot-id', path) }),
    sequenceNumber: intAt(o, 'sequence-number', path, 0),
    timestampMs: intAt(o, 'timestamp-ms', path),
    manifestList: stringAt(o, 'manifest-list', path),
    summary: { operation: op, ...summary },
    ...(o['schema-id'] === undefined || o['schema-id'] === null
      ? {}
      : { schemaId: intAt(o, 'schema-id', path) }),
  };
}

/**
 * Writes a snapshot as a plain JSON object in Java's key order; `operation` first in the
 * summary, parent-snapshot-id only when present, schema-id whenever known.
 */
export function snapshotToJson(s: Snapshot): JsonObject {
  const out: JsonObject = { 'sequence-number': s.sequenceNumber, 'snapshot-id': s.snapshotId };
  if (s.parentSnapshotId !== undefined) out['parent-snapshot-id'] = s.parentSnapshotId;
  out['timestamp-ms'] = s.timestampMs;
  const { operation, ...rest } = s.summary;
  if (operation === undefined) metadataError('summary.operation', 'missing');
  out.summary = { operation, ...rest };
  out['manifest-list'] = s.manifestList;
  if (s.schemaId !== undefined) out['schema-id'] = s.schemaId;
  return out;
}

/**
 * Reads a snapshot reference (https://iceberg.apache.org/spec/#snapshot-references).
 *
 *   {"snapshot-id": 3055729675574597004, "type": "branch", "min-snapshots-to-keep": 1,
 *    "max-snapshot-age-ms": 86400000, "max-ref-age-ms": 604800000}
 */
export function refFromJson(v: unknown, path = ''): SnapshotRef {
  const o = expectObject(v, path.replace(/\.$/, '') || 'ref');
  const type = stringAt(o, 'type', path).toLowerCase();
  if (type !== 'branch' && type !== 'tag') metadataError(`${path}type`, 'expected branch or tag');
  const opt = (key: string, name: keyof SnapshotRef): JsonObject =>
    o[key] === undefined || o[key] === null ? {} : { [name]: intAt(o, key, path) };
  return {
    snapshotId: longAt(o, 'snapshot-id', path),
    type,
    ...opt('min-snapshots-to-keep', 'minSnapshotsToKeep'),
    ...opt('max-snapshot-age-ms', 'maxSnapshotAgeMs'),
    ...opt('max-ref-age-ms', 'maxRefAgeMs'),
  } as SnapshotRef;
}

/** Writes a snapshot reference in Java's key order, optional fields only when set. */
export function refToJson(r: SnapshotRef): JsonObject {
  const out: JsonObject = { 'snapshot-id': r.snapshotId, type: r.type };
  if (r.minSnapshotsToKeep !== undefined) out['min-snapshots-to-keep'] = r.minSnapshotsToKeep;
  if (r.maxSnapshotAgeMs !== undefined) out['max-snapshot-age-ms'] = r.maxSnapshotAgeMs;
  if (r.maxRefAgeMs !== undefined) out['max-ref-age-ms'] = r.maxRefAgeMs;
  return out;
}

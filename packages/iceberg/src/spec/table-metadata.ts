/**
 * Table metadata (format version 2).
 *
 * Spec: https://iceberg.apache.org/spec/#table-metadata-fields
 */
import { randomUUID } from 'node:crypto';
import { IcebergError, NotFoundError } from '../errors.ts';
import {
  arrayAt,
  expectObject,
  intAt,
  type JsonObject,
  longAt,
  metadataError,
  parseJson,
  stringAt,
  stringifyJson,
  stringMapAt,
} from './json.ts';
import {
  INITIAL_LAST_PARTITION_ID,
  type PartitionSpec,
  partitionSpecFromJson,
  partitionSpecToJson,
  partitionType,
  type SortOrder,
  sortOrderFromJson,
  sortOrderToJson,
} from './partition-spec.ts';
import {
  type MetadataLogEntry,
  refFromJson,
  refToJson,
  type Snapshot,
  type SnapshotLogEntry,
  type SnapshotRef,
  snapshotFromJson,
  snapshotToJson,
} from './snapshot.ts';
import {
  type IcebergType,
  type Schema,
  type StructType,
  schemaFromJson,
  schemaToJson,
} from './types.ts';

export interface TableMetadata {
  readonly formatVersion: 2;
  readonly tableUuid: string;
  readonly location: string;
  readonly lastSequenceNumber: number;
  readonly lastUpdatedMs: number;
  readonly lastColumnId: number;
  readonly schemas: readonly Schema[];
  readonly currentSchemaId: number;
  readonly partitionSpecs: readonly PartitionSpec[];
  readonly defaultSpecId: number;
  readonly lastPartitionId: number;
  readonly properties: Readonly<Record<string, string>>;
  /** null when the table has no snapshot (-1 in JSON). */
  readonly currentSnapshotId: bigint | null;
  readonly snapshots: readonly Snapshot[];
  readonly snapshotLog: readonly SnapshotLogEntry[];
  readonly metadataLog: readonly MetadataLogEntry[];
  readonly sortOrders: readonly SortOrder[];
  readonly defaultSortOrderId: number;
  readonly refs: Readonly<Record<string, SnapshotRef>>;
  /** Kept verbatim when read (statistics files are not written by this library). */
  readonly statistics: readonly unknown[];
  readonly partitionStatistics: readonly unknown[];
}

// ---------------------------------------------------------------- JSON codec

/**
 * Reads v2 table metadata JSON (https://iceberg.apache.org/spec/#table-metadata-fields,
 * https://iceberg.apache.org/spec/#appendix-c-json-serialization).
 *
 *   {"format-version": 2, "table-uuid": "…", "location": "…", "last-sequence-number": 34,
 *    "last-updated-ms": …, "last-column-id": 3, "current-schema-id": 1, "schemas": [ … ],
 *    "default-spec-id": 0, "partition-specs": [ … ], "last-partition-id": 1000,
 *    "default-sort-order-id": 0, "sort-orders": [ … ], "properties": {…},
 *    "current-snapshot-id": -1 | null | <id>, "refs": {"main": {…}}, "snapshots": [ … ],
 *    "statistics": [ … ], "partition-statistics": [ … ],
 *    "snapshot-log": [{"timestamp-ms", "snapshot-id"}], "metadata-log": [{"timestamp-ms", "metadata-file"}]}
 *
 * Throws IcebergError('INVALID_METADATA') naming the missing or bad key. Without `refs`, main
 * points at the current snapshot (as Java reads old files); statistics are kept verbatim.
 */
export function tableMetadataFromJson(text: string): TableMetadata {
  let parsed: unknown;
  try {
    parsed = parseJson(text);
  } catch (cause) {
    throw new IcebergError(
      'INVALID_METADATA',
      `table metadata is not valid JSON: ${String(cause)}`,
      {
        cause,
      },
    );
  }
  const o = expectObject(parsed, 'table metadata');
  const version = intAt(o, 'format-version', '');
  if (version !== 2)
    metadataError('format-version', `unsupported format version ${version} (only 2)`);
  const schemas = arrayAt(o, 'schemas', '').map((s, i) => readSchema(s, `schemas[${i}]`));
  // Checked first, as Java does, so a file with several problems names this one.
  const currentSchemaId = intAt(o, 'current-schema-id', '');
  if (!schemas.some((s) => s.schemaId === currentSchemaId)) {
    metadataError('current-schema-id', `schema ${currentSchemaId} is not in schemas`);
  }
  const partitionSpecs = arrayAt(o, 'partition-specs', '').map((s, i) =>
    partitionSpecFromJson(s, `partition-specs[${i}]`),
  );
  const sortOrders = arrayAt(o, 'sort-orders', '').map((s, i) =>
    sortOrderFromJson(s, `sort-orders[${i}]`),
  );
  const snapshots = optionalArray(o, 'snapshots').map((s, i) =>
    snapshotFromJson(s, `snapshots[${i}].`),
  );
  const current = o['current-snapshot-id'];
  const currentSnapshotId =
    current === undefined || current === null || current === -1
      ? null
      : longAt(o, 'current-snapshot-id', '');
  const refs: Record<string, SnapshotRef> = {};
  if (o.refs !== undefined && o.refs !== null) {
    for (const [name, r] of Object.entries(expectObject(o.refs, 'refs'))) {
      refs[name] = refFromJson(r, `refs.${name}.`);
    }
  } else if (currentSnapshotId !== null) {
    refs.main = { snapshotId: currentSnapshotId, type: 'branch' };
  }
  const m: TableMetadata = {
    formatVersion: 2,
    tableUuid: stringAt(o, 'table-uuid', ''),
    location: stringAt(o, 'location', ''),
    lastSequenceNumber: intAt(o, 'last-sequence-number', ''),
    lastUpdatedMs: intAt(o, 'last-updated-ms', ''),
    lastColumnId: intAt(o, 'last-column-id', ''),
    schemas,
    currentSchemaId,
    partitionSpecs,
    defaultSpecId: intAt(o, 'default-spec-id', ''),
    lastPartitionId: intAt(o, 'last-partition-id', ''),
    properties: stringMapAt(o, 'properties', ''),
    currentSnapshotId,
    snapshots,
    snapshotLog: optionalArray(o, 'snapshot-log').map((e, i) => {
      const eo = expectObject(e, `snapshot-log[${i}]`);
      const p = `snapshot-log[${i}].`;
      return {
        timestampMs: intAt(eo, 'timestamp-ms', p),
        snapshotId: longAt(eo, 'snapshot-id', p),
      };
    }),
    metadataLog: optionalArray(o, 'metadata-log').map((e, i) => {
      const eo = expectObject(e, `metadata-log[${i}]`);
      const p = `metadata-log[${i}].`;
      return {
        timestampMs: intAt(eo, 'timestamp-ms', p),
        metadataFile: stringAt(eo, 'metadata-file', p),
      };
    }),
    sortOrders,
    defaultSortOrderId: intAt(o, 'default-sort-order-id', ''),
    refs,
    statistics: optionalArray(o, 'statistics'),
    partitionStatistics: optionalArray(o, 'partition-statistics'),
  };
  validate(m);
  return m;
}

function optionalArray(o: JsonObject, key: string): unknown[] {
  return o[key] === undefined || o[key] === null ? [] : arrayAt(o, key, '');
}

function readSchema(v: unknown, path: string): Schema {
  try {
    return schemaFromJson(v, path);
  } catch (cause) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    throw new IcebergError('INVALID_METADATA', msg, { context: { path }, cause });
  }
}

/** The cross-field rules Java and PyIceberg enforce when reading metadata. */
function validate(m: TableMetadata): void {
  if (!m.schemas.some((s) => s.schemaId === m.currentSchemaId)) {
    metadataError('current-schema-id', `schema ${m.currentSchemaId} is not in schemas`);
  }
  if (!m.partitionSpecs.some((s) => s.specId === m.defaultSpecId)) {
    metadataError('default-spec-id', `spec ${m.defaultSpecId} is not in partition-specs`);
  }
  if (!m.sortOrders.some((s) => s.orderId === m.defaultSortOrderId)) {
    metadataError('default-sort-order-id', `order ${m.defaultSortOrderId} is not in sort-orders`);
  }
  const ids = new Set(m.snapshots.map((s) => s.snapshotId));
  if (m.currentSnapshotId !== null && !ids.has(m.currentSnapshotId)) {
    metadataError('current-snapshot-id', `snapshot ${m.currentSnapshotId} is not in snapshots`);
  }
  for (const [name, ref] of Object.entries(m.refs)) {
    if (!ids.has(ref.snapshotId)) {
      metadataError(`refs.${name}.snapshot-id`, `snapshot ${ref.snapshotId} is not in snapshots`);
    }
  }
  const main = m.refs.main;
  if (main && main.snapshotId !== m.currentSnapshotId) {
    metadataError(
      'refs.main',
      `points at ${main.snapshotId}, current-snapshot-id is ${m.currentSnapshotId ?? -1}`,
    );
  }
}

/**
 * Writes v2 table metadata JSON in Java's key order, always with properties,
 * current-snapshot-id (-1 when none), refs (main = current snapshot), snapshots, statistics,
 * partition-statistics, snapshot-log and metadata-log. Throws if the model is inconsistent.
 */
export function tableMetadataToJson(m: TableMetadata): string {
  const refs: Record<string, SnapshotRef> = { ...m.refs };
  if (m.currentSnapshotId !== null && refs.main === undefined) {
    refs.main = { snapshotId: m.currentSnapshotId, type: 'branch' };
  }
  validate({ ...m, refs });
  const out: JsonObject = {
    'format-version': 2,
    'table-uuid': m.tableUuid,
    location: m.location,
    'last-sequence-number': m.lastSequenceNumber,
    'last-updated-ms': m.lastUpdatedMs,
    'last-column-id': m.lastColumnId,
    'current-schema-id': m.currentSchemaId,
    schemas: m.schemas.map(schemaToJson),
    'default-spec-id': m.defaultSpecId,
    'partition-specs': m.partitionSpecs.map(partitionSpecToJson),
    'last-partition-id': m.lastPartitionId,
    'default-sort-order-id': m.defaultSortOrderId,
    'sort-orders': m.sortOrders.map(sortOrderToJson),
    properties: { ...m.properties },
    'current-snapshot-id': m.currentSnapshotId ?? -1,
    refs: Object.fromEntries(Object.entries(refs).map(([k, r]) => [k, refToJson(r)])),
    snapshots: m.snapshots.map(snapshotToJson),
    statistics: m.statistics,
    'partition-statistics': m.partitionStatistics,
    'snapshot-log': m.snapshotLog.map((e) => ({
      'timestamp-ms': e.timestampMs,
      'snapshot-id': e.snapshotId,
    })),
    'metadata-log': m.metadataLog.map((e) => ({
      'timestamp-ms': e.timestampMs,
      'metadata-file': e.metadataFile,
    })),
  };
  return stringifyJson(out, 2);
}

// ---------------------------------------------------------------- new tables

/**
 * Metadata for a new table, as Java's TableMetadata.newTableMetadata builds it: fresh field
 * IDs 1..N (each struct's own fields first, then their nested types, in order; list element
 * and map key/value IDs likewise), spec 0 with source ids remapped and partition field IDs
 * from 1000 (last-partition-id 999 when unpartitioned), sort order 1 (0 when unsorted) with
 * source ids remapped, no snapshot.
 */
export function newTableMetadata(opts: {
  location: string;
  schema: Schema;
  spec?: PartitionSpec;
  sortOrder?: SortOrder;
  properties?: Record<string, string>;
  tableUuid?: string;
  nowMs?: number;
}): TableMetadata {
  const idMap = new Map<number, number>();
  let next = 0;
  const fresh = (old: number): number => {
    next++;
    idMap.set(old, next);
    return next;
  };
  const assign = (t: IcebergType): IcebergType => {
    if (typeof t === 'string') return t;
    if (t.type === 'struct') {
      const ids = t.fields.map((f) => fresh(f.id));
      return {
        type: 'struct',
        fields: t.fields.map((f, i) => ({ ...f, id: ids[i] as number, type: assign(f.type) })),
      };
    }
    if (t.type === 'list') {
      const elementId = fresh(t.elementId);
      return { ...t, elementId, element: assign(t.element) };
    }
    const keyId = fresh(t.keyId);
    const valueId = fresh(t.valueId);
    return { ...t, keyId, valueId, key: assign(t.key), value: assign(t.value) };
  };
  const struct = assign({ type: 'struct', fields: opts.schema.fields }) as StructType;
  const remap = (old: number, what: string): number => {
    const id = idMap.get(old);
    if (id === undefined) {
      throw new IcebergError('INVALID_SCHEMA', `${what}: source field ${old} is not in the schema`);
    }
    return id;
  };
  const schema: Schema = {
    ...struct,
    schemaId: 0,
    ...(opts.schema.identifierFieldIds?.length
      ? {
          identifierFieldIds: opts.schema.identifierFieldIds.map((id) =>
            remap(id, 'identifier field'),
          ),
        }
      : {}),
  };
  const spec: PartitionSpec = {
    specId: 0,
    fields: (opts.spec?.fields ?? []).map((f, i) => ({
      ...f,
      sourceId: remap(f.sourceId, `partition field "${f.name}"`),
      fieldId: 1000 + i,
    })),
  };
  partitionType(spec, schema); // validates sources and transforms
  const sortFields = (opts.sortOrder?.fields ?? []).map((f) => ({
    ...f,
    sourceId: remap(f.sourceId, 'sort field'),
  }));
  const sortOrder: SortOrder = { orderId: sortFields.length > 0 ? 1 : 0, fields: sortFields };
  return {
    formatVersion: 2,
    tableUuid: opts.tableUuid ?? randomUUID(),
    location: opts.location.replace(/\/+$/, ''),
    lastSequenceNumber: 0,
    lastUpdatedMs: opts.nowMs ?? Date.now(),
    lastColumnId: next,
    schemas: [schema],
    currentSchemaId: 0,
    partitionSpecs: [spec],
    defaultSpecId: 0,
    lastPartitionId: spec.fields.length > 0 ? 999 + spec.fields.length : INITIAL_LAST_PARTITION_ID,
    properties: { ...(opts.properties ?? {}) },
    currentSnapshotId: null,
    snapshots: [],
    snapshotLog: [],
    metadataLog: [],
    sortOrders: [sortOrder],
    defaultSortOrderId: sortOrder.orderId,
    refs: {},
    statistics: [],
    partitionStatistics: [],
  };
}

// ---------------------------------------------------------------- lookups

/** The current schema (always present in valid metadata). */
export function currentSchema(m: TableMetadata): Schema {
  return schemaById(m, m.currentSchemaId);
}

/** The schema with this id; throws NotFoundError when absent. */
export function schemaById(m: TableMetadata, id: number): Schema {
  const s = m.schemas.find((x) => x.schemaId === id);
  if (!s) throw new NotFoundError(`schema ${id} not found`, { schemaId: id });
  return s;
}

/** The partition spec with this id; throws NotFoundError when absent. */
export function specById(m: TableMetadata, id: number): PartitionSpec {
  const s = m.partitionSpecs.find((x) => x.specId === id);
  if (!s) throw new NotFoundError(`partition spec ${id} not found`, { specId: id });
  return s;
}

/** The current snapshot, or undefined when the table has none. */
export function currentSnapshot(m: TableMetadata): Snapshot | undefined {
  return m.currentSnapshotId === null ? undefined : snapshotById(m, m.currentSnapshotId);
}

/** The snapshot with this id, or undefined. */
export function snapshotById(m: TableMetadata, id: bigint): Snapshot | undefined {
  return m.snapshots.find((s) => s.snapshotId === id);
}

/**
 * The ancestry of snapshot `snapshotId`, newest first and including it: the snapshot, its
 * parent, the parent's parent, … following parent-snapshot-id (Java's
 * SnapshotUtil.ancestorsOf). The walk ends at a snapshot without a parent (the table's
 * first) or at the first parent no longer in the metadata (expired); `truncated` tells
 * which. Snapshots of other branches and ones outside this chain are never visited. An
 * unknown `snapshotId` gives an empty, untruncated ancestry.
 */
export function ancestors(
  m: TableMetadata,
  snapshotId: bigint,
): { readonly snapshots: Snapshot[]; readonly truncated: boolean } {
  const byId = new Map(m.snapshots.map((s) => [s.snapshotId, s]));
  const out: Snapshot[] = [];
  const seen = new Set<bigint>();
  let next: bigint | undefined = snapshotId;
  while (next !== undefined) {
    const s = byId.get(next);
    if (!s) return { snapshots: out, truncated: out.length > 0 };
    if (seen.has(next)) break; // a cycle is malformed metadata: stop rather than loop
    seen.add(next);
    out.push(s);
    next = s.parentSnapshotId;
  }
  return { snapshots: out, truncated: false };
}

/**
 * The snapshot that was current at `timestampMs` according to the snapshot log (the last
 * entry at or before that time), or undefined when the table had none then.
 */
export function snapshotAsOf(m: TableMetadata, timestampMs: number): Snapshot | undefined {
  let found: bigint | undefined;
  for (const e of m.snapshotLog) if (e.timestampMs <= timestampMs) found = e.snapshotId;
  return found === undefined ? undefined : snapshotById(m, found);
}

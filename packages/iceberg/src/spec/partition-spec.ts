/**
 * Partition specs and sort orders.
 *
 * Spec: https://iceberg.apache.org/spec/#partitioning and
 * https://iceberg.apache.org/spec/#sorting
 *
 * JSON: {"spec-id":0,"fields":[{"source-id":4,"field-id":1000,"name":"ts_day","transform":"day"}]}
 *       {"order-id":1,"fields":[{"transform":"identity","source-id":2,"direction":"asc","null-order":"nulls-first"}]}
 */
import { IcebergError } from '../errors.ts';
import { arrayAt, expectObject, intAt, type JsonObject, metadataError, stringAt } from './json.ts';
import type { PartitionTuple } from './manifest.ts';
import {
  applyTransform,
  canTransform,
  humanPartitionValue,
  parseTransform,
  type Transform,
  transformResultType,
  transformToString,
} from './transforms.ts';
import {
  indexById,
  isPrimitive,
  type PrimitiveType,
  type Schema,
  type StructType,
} from './types.ts';

export interface PartitionField {
  readonly sourceId: number;
  /** Partition field IDs start at 1000. */
  readonly fieldId: number;
  readonly name: string;
  /** Transform as written in JSON: identity, bucket[N], truncate[W], year, month, day, hour, void. */
  readonly transform: string;
}

export interface PartitionSpec {
  readonly specId: number;
  readonly fields: readonly PartitionField[];
}

export interface SortField {
  readonly transform: string;
  readonly sourceId: number;
  readonly direction: 'asc' | 'desc';
  readonly nullOrder: 'nulls-first' | 'nulls-last';
}

export interface SortOrder {
  readonly orderId: number;
  readonly fields: readonly SortField[];
}

export const UNPARTITIONED_SPEC: PartitionSpec = Object.freeze({ specId: 0, fields: [] });
export const UNSORTED_ORDER: SortOrder = Object.freeze({ orderId: 0, fields: [] });
/** `last-partition-id` of a table that never had a partition field. */
export const INITIAL_LAST_PARTITION_ID = 999;

// ---------------------------------------------------------------- JSON codecs

function checkedTransform(o: JsonObject, path: string): string {
  const s = stringAt(o, 'transform', `${path}.`);
  try {
    return transformToString(parseTransform(s));
  } catch (cause) {
    throw new IcebergError('INVALID_METADATA', `${path}.transform: unknown transform "${s}"`, {
      context: { path: `${path}.transform` },
      cause,
    });
  }
}

/** The single source id of a field: `source-id`, or a one-element `source-ids` (v3 form). */
function sourceIdAt(o: JsonObject, path: string): number {
  const ids = o['source-ids'];
  if (o['source-id'] === undefined && Array.isArray(ids) && ids.length === 1) {
    return intAt({ 'source-id': ids[0] }, 'source-id', `${path}.`);
  }
  return intAt(o, 'source-id', `${path}.`);
}

/**
 * Reads a partition spec.
 * https://iceberg.apache.org/spec/#partition-specs
 *
 *   {"spec-id": 0, "fields": [{"source-id": 4, "field-id": 1000, "name": "ts_day",
 *                              "transform": "day"}]}
 *
 * A field without `field-id` (written by old v1 writers) gets 1000 + its position, as Java does.
 */
export function partitionSpecFromJson(v: unknown, path = 'partition-spec'): PartitionSpec {
  const o = expectObject(v, path);
  const fields = arrayAt(o, 'fields', `${path}.`).map((f, i): PartitionField => {
    const p = `${path}.fields[${i}]`;
    const fo = expectObject(f, p);
    return {
      sourceId: sourceIdAt(fo, p),
      fieldId: fo['field-id'] === undefined ? 1000 + i : intAt(fo, 'field-id', `${p}.`),
      name: stringAt(fo, 'name', `${p}.`),
      transform: checkedTransform(fo, p),
    };
  });
  return { specId: intAt(o, 'spec-id', `${path}.`), fields };
}

/** Writes a partition spec as a plain JSON object (keys in Java's order). */
export function partitionSpecToJson(spec: PartitionSpec): JsonObject {
  return { 'spec-id': spec.specId, fields: spec.fields.map(partitionFieldToJson) };
}

/** One partition field as JSON: also the element of a manifest's `partition-spec` metadata. */
export function partitionFieldToJson(f: PartitionField): JsonObject {
  return { name: f.name, transform: f.transform, 'source-id': f.sourceId, 'field-id': f.fieldId };
}

/**
 * Reads a sort order.
 * https://iceberg.apache.org/spec/#sort-orders
 *
 *   {"order-id": 1, "fields": [{"transform": "identity", "source-id": 2,
 *                               "direction": "asc", "null-order": "nulls-first"}]}
 */
export function sortOrderFromJson(v: unknown, path = 'sort-order'): SortOrder {
  const o = expectObject(v, path);
  const fields = arrayAt(o, 'fields', `${path}.`).map((f, i): SortField => {
    const p = `${path}.fields[${i}]`;
    const fo = expectObject(f, p);
    const direction = stringAt(fo, 'direction', `${p}.`).toLowerCase();
    if (direction !== 'asc' && direction !== 'desc')
      metadataError(`${p}.direction`, 'expected asc or desc');
    const nullOrder = stringAt(fo, 'null-order', `${p}.`).toLowerCase();
    if (nullOrder !== 'nulls-first' && nullOrder !== 'nulls-last') {
      metadataError(`${p}.null-order`, 'expected nulls-first or nulls-last');
    }
    return {
      transform: checkedTransform(fo, p),
      sourceId: sourceIdAt(fo, p),
      direction,
      nullOrder,
    };
  });
  return { orderId: intAt(o, 'order-id', `${path}.`), fields };
}

/** Writes a sort order as a plain JSON object (keys in Java's order). */
export function sortOrderToJson(order: SortOrder): JsonObject {
  return {
    'order-id': order.orderId,
    fields: order.fields.map((f) => ({
      transform: f.transform,
      'source-id': f.sourceId,
      direction: f.direction,
      'null-order': f.nullOrder,
    })),
  };
}

// ---------------------------------------------------------------- helpers over a schema

interface BoundField {
  readonly field: PartitionField;
  readonly transform: Transform;
  readonly sourceType: PrimitiveType;
  readonly resultType: PrimitiveType;
}

const BOUND = new WeakMap<PartitionSpec, WeakMap<Schema, readonly BoundField[]>>();

/** Binds each partition field to its source column; cached per (spec, schema) objects. */
function bind(spec: PartitionSpec, schema: Schema): readonly BoundField[] {
  let bySchema = BOUND.get(spec);
  const cached = bySchema?.get(schema);
  if (cached) return cached;
  const index = indexById(schema);
  const bound = spec.fields.map((field): BoundField => {
    const source = index.get(field.sourceId);
    if (!source) {
      throw new IcebergError(
        'INVALID_SCHEMA',
        `partition field "${field.name}": source field ${field.sourceId} is not in schema ${schema.schemaId}`,
        { context: { field: field.name, sourceId: field.sourceId } },
      );
    }
    if (!isPrimitive(source.type)) {
      throw new IcebergError(
        'INVALID_SCHEMA',
        `partition field "${field.name}": source field ${field.sourceId} (${source.name}) is not a primitive`,
        { context: { field: field.name, sourceId: field.sourceId } },
      );
    }
    const transform = parseTransform(field.transform);
    if (!canTransform(transform, source.type)) {
      throw new IcebergError(
        'INVALID_SCHEMA',
        `partition field "${field.name}": transform ${field.transform} cannot apply to ${source.type}`,
        { context: { field: field.name, sourceId: field.sourceId } },
      );
    }
    const resultType = transformResultType(transform, source.type);
    return { field, transform, sourceType: source.type, resultType };
  });
  if (!bySchema) {
    bySchema = new WeakMap();
    BOUND.set(spec, bySchema);
  }
  bySchema.set(schema, bound);
  return bound;
}

/**
 * The partition struct of a spec: one optional field per partition field (id = partition
 * field id, name = partition field name, type = transform result type). Throws when a source
 * field is missing, not primitive, or the transform does not apply to it.
 */
export function partitionType(spec: PartitionSpec, schema: Schema): StructType {
  return {
    type: 'struct',
    fields: bind(spec, schema).map((b) => ({
      id: b.field.fieldId,
      name: b.field.name,
      required: false,
      type: b.resultType,
    })),
  };
}

/**
 * The partition path of a tuple: `name=value/name=value`, each name and human value
 * (see humanPartitionValue) URL-encoded with encodeURIComponent. Empty for an unpartitioned spec.
 */
export function partitionPath(spec: PartitionSpec, schema: Schema, tuple: PartitionTuple): string {
  return bind(spec, schema)
    .map((b, i) => {
      const human = humanPartitionValue(b.transform, b.resultType, tuple[i]);
      return `${encodeURIComponent(b.field.name)}=${encodeURIComponent(human)}`;
    })
    .join('/');
}

/** The partition tuple of a row: the transform of each field applied to its source value. */
export function partitionTupleFor(
  spec: PartitionSpec,
  schema: Schema,
  row: (sourceId: number) => unknown,
): unknown[] {
  return bind(spec, schema).map((b) =>
    applyTransform(b.transform, b.sourceType, row(b.field.sourceId)),
  );
}

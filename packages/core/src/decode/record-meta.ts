/**
 * Kafka metadata and keys as columns (docs/config.md `metadata`, `key`), for any value
 * format: a decoder appends each accepted record's value to its own column tree, then calls
 * `MetaColumns.append` for the same record, and at the end `fields` / `children` to put the
 * metadata columns next to the value columns.
 *
 *   <metadata.column> struct<topic string, partition int, offset long,
 *                            timestamp timestamptz, timestamp_type string,
 *                            headers list<struct<key string, value binary>>>
 *   <key.column>      string (key.format string: UTF-8 text) or, key.format json, the JSON
 *                     key's type inferred like a value's (object → struct, number → long…),
 *                     evolving like value columns; a null key is a null column;
 *                     key.format avro | json-schema | protobuf: the Confluent-framed
 *                     key's schema (Protobuf: the message its indexes choose)
 *                     (resolved by the coordinator, RecordMeta.keySchemas) mapped as the
 *                     column's type by registry/key-codecs.ts, evolving with each key
 *                     schema of the batch; a key that cannot be read refuses its record
 *                     with a `key: ` reason
 *
 * Headers are a list, not a map: Kafka allows a name more than once, and the list keeps every
 * value, in the order the client gives them (pack.ts), as exact bytes (null: no value).
 * `timestamp` is null when Kafka has none (-1); `timestamp_type` is "CreateTime" or
 * "LogAppendTime" (the record batch's attribute bit 3).
 *
 * Value fields named like a metadata column are refused per record (dead-lettered): the
 * decoder calls `collision` after appending a value. A table column of that name whose type
 * is not the metadata struct fails the batch with CONFIG_INVALID.
 *
 * Types: https://iceberg.apache.org/spec/#schemas-and-data-types
 */
import { isUtf8 } from 'node:buffer';
import type { IcebergType, NestedField, StructType } from '@kice/iceberg';
import { KiceError } from '../errors.ts';
import type { VariantOut } from '../registry/batch-driver.ts';
import {
  isRegistryKeyFormat,
  type RegistryKeyFormat,
  type ResolvedSchema,
} from '../registry/formats.ts';
import { FRAME_HEADER_BYTES, readFrame } from '../registry/frame.ts';
import { type KeyAppender, keyVariantReader, mapKeySchema } from '../registry/key-codecs.ts';
import { evolveSchema } from '../schema/evolve.ts';
import type { RecordHeader } from '../source/types.ts';
import { type AppendContext, appendObject, fieldCount } from './append.ts';
import { loneSurrogate, Malformed, parseErrorOf, parseExact, preScan } from './exact.ts';
import {
  appendNull,
  type BytesNode,
  type Int64Node,
  type ListNode,
  makeNode,
  type Node,
  type NumberNode,
  rootNode,
  type StructNode,
  truncate,
} from './tree.ts';

/** Which metadata columns a table wants, and their names. */
export interface MetaSpec {
  /** Name of the Kafka metadata struct column, when wanted. */
  readonly kafka?: string;
  /** The key column, when wanted. */
  readonly key?: { readonly column: string; readonly format: KeyFormat };
}

/** How a key column is decoded: UTF-8 text, inferred JSON, or a Schema Registry format. */
export type KeyFormat = 'string' | 'json' | RegistryKeyFormat;

/** The registry schemas of a batch's keys (registry/resolve.ts), by schema id. */
export interface KeySchemas {
  readonly schemas: Readonly<Record<number, ResolvedSchema>>;
  /** Why an id has no schema (e.g. the registry's 404), by id. */
  readonly unknown: Readonly<Record<number, string>>;
}

/** The per-record metadata of a batch, as the coordinator sends it to a worker. */
export interface RecordMeta {
  readonly topic: string;
  readonly partition: number;
  readonly recordOffsets: BigInt64Array;
  /** Epoch milliseconds (-1: none). */
  readonly timestamps: Float64Array;
  /** 1 where the record's batch has LogAppendTime, else 0 (CreateTime). */
  readonly timestampTypes?: Uint8Array;
  /** Keys packed like values (present when a key column is wanted). */
  readonly keys?: {
    readonly bytes: Uint8Array;
    readonly offsets: Int32Array;
    readonly nulls: Uint8Array;
  };
  /** The schemas of the keys' ids, when the key format is a registry format. */
  readonly keySchemas?: KeySchemas;
  /** Each record's headers (present when the metadata column is wanted). */
  readonly headers?: ReadonlyArray<readonly RecordHeader[]>;
}

/** The metadata struct's type; IDs are placeholders, renumbered where it is added. */
export function kafkaStructType(): StructType {
  const f = (id: number, name: string, type: IcebergType): NestedField => ({
    id,
    name,
    required: false,
    type,
  });
  return {
    type: 'struct',
    fields: [
      f(1, 'topic', 'string'),
      f(2, 'partition', 'int'),
      f(3, 'offset', 'long'),
      f(4, 'timestamp', 'timestamptz'),
      f(5, 'timestamp_type', 'string'),
      f(6, 'headers', {
        type: 'list',
        elementId: 7,
        elementRequired: false,
        element: {
          type: 'struct',
          fields: [f(8, 'key', 'string'), f(9, 'value', 'binary')],
        },
      }),
    ],
  };
}

/** The type without IDs and requiredness, to compare shapes. */
function shape(t: IcebergType): unknown {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') return t.fields.map((x) => [x.name, shape(x.type)]);
  if (t.type === 'list') return ['list', shape(t.element)];
  return ['map', shape(t.key), shape(t.value)];
}

/** Copies a type with IDs taken from `ids` (parent before children). */
function numbered(t: IcebergType, ids: { next: number }): IcebergType {
  if (typeof t === 'string') return t;
  if (t.type === 'struct')
    return {
      type: 'struct',
      fields: t.fields.map((x) => ({ ...x, id: ids.next++, type: numbered(x.type, ids) })),
    };
  if (t.type === 'list') {
    const elementId = ids.next++;
    return { ...t, elementId, element: numbered(t.element, ids) };
  }
  const keyId = ids.next++;
  const valueId = ids.next++;
  return { ...t, keyId, valueId, key: numbered(t.key, ids), value: numbered(t.value, ids) };
}

/** The names of the metadata columns of a spec. */
export function metaNames(spec: MetaSpec | undefined): string[] {
  const out: string[] = [];
  if (spec?.kafka !== undefined) out.push(spec.kafka);
  if (spec?.key !== undefined) out.push(spec.key.column);
  return out;
}

/** `schema` without the metadata columns (what the value decoder appends to). */
export function valueSchema(schema: StructType, spec: MetaSpec | undefined): StructType {
  const names = metaNames(spec);
  if (names.length === 0) return schema;
  return { type: 'struct', fields: schema.fields.filter((f) => !names.includes(f.name)) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One decode pass's metadata columns. */
export class MetaColumns {
  /** Root of the key column (its one child, once the column exists). */
  private readonly keyRoot: StructNode | undefined;
  private readonly kafka: StructNode | undefined;
  /** True when the metadata column is in the input schema (not made by this pass). */
  private readonly kafkaKnown: boolean;
  /** Registry key formats: each key schema id's appender, or why its keys are refused. */
  private readonly registry: RegistryKeys | undefined;

  constructor(
    private readonly spec: MetaSpec,
    schema: StructType,
    private readonly meta: RecordMeta,
    cx: AppendContext,
    private readonly maxDepth: number,
  ) {
    const byName = new Map(schema.fields.map((f) => [f.name, f]));
    if (spec.key !== undefined) {
      const k = byName.get(spec.key.column);
      if (isRegistryKeyFormat(spec.key.format)) {
        const r = registryKeys(spec.key.format, spec.key.column, k, meta, cx, maxDepth);
        this.keyRoot = r.root;
        this.registry = r;
      } else this.keyRoot = rootNode({ type: 'struct', fields: k ? [k] : [] });
    }
    this.kafkaKnown = false;
    if (spec.kafka !== undefined) {
      const want = kafkaStructType();
      const have = byName.get(spec.kafka);
      if (have !== undefined && JSON.stringify(shape(have.type)) !== JSON.stringify(shape(want)))
        throw new KiceError(
          'CONFIG_INVALID',
          `the table has a column "${spec.kafka}" that is not the Kafka metadata struct; set metadata.column to another name`,
          { context: { column: spec.kafka } },
        );
      this.kafkaKnown = have !== undefined;
      const field: NestedField = have ?? {
        id: cx.ids.next++,
        name: spec.kafka,
        required: false,
        type: numbered(want, cx.ids),
      };
      this.kafka = makeNode(field, spec.kafka) as StructNode;
      // Its fields count against limits.maxColumns like any (the struct, 6 fields, the
      // list element, its 2 fields).
      if (have === undefined && cx.columns !== undefined) cx.columns.count += 10;
    }
  }

  /**
   * The reason a value cannot be taken because it made a column named like a metadata
   * column (the value root never has one otherwise), or undefined.
   */
  collision(valueRoot: StructNode): string | undefined {
    if (this.spec.kafka !== undefined && valueRoot.byName.has(this.spec.kafka))
      return `field "${this.spec.kafka}": the value has a field named like the metadata column (metadata.column)`;
    const key = this.spec.key?.column;
    if (key !== undefined && valueRoot.byName.has(key))
      return `field "${key}": the value has a field named like the key column (key.column)`;
    return undefined;
  }

  /** Appends record i's key and metadata; a reason when the key does not fit. */
  append(i: number, cx: AppendContext): string | undefined {
    if (this.keyRoot !== undefined) {
      const err = this.appendKey(i, cx);
      if (err !== undefined) return err;
    }
    if (this.kafka !== undefined) this.appendKafka(i);
    return undefined;
  }

  /** Drops rows from `rows` on (a rejected record). */
  truncate(rows: number): void {
    if (this.keyRoot !== undefined) truncate(this.keyRoot, rows);
    if (this.kafka !== undefined) truncate(this.kafka, rows);
  }

  /**
   * The output's top-level column nodes: the value columns and the metadata columns, in the
   * input schema's order, new ones after. The metadata struct is left out while it is new and
   * no row has been taken (an all-refused batch adds no column).
   */
  children(valueChildren: readonly Node[], inputOrder: StructType, rows: number): Node[] {
    const all = new Map<string, Node>();
    for (const c of valueChildren) all.set(c.name, c);
    for (const c of this.keyRoot?.children ?? []) all.set(c.name, c);
    if (this.kafka !== undefined && (this.kafkaKnown || rows > 0))
      all.set(this.kafka.name, this.kafka);
    const out: Node[] = [];
    for (const f of inputOrder.fields) {
      const c = all.get(f.name);
      if (c === undefined) continue;
      out.push(c);
      all.delete(f.name);
    }
    for (const c of all.values()) out.push(c);
    return out;
  }

  private appendKey(i: number, cx: AppendContext): string | undefined {
    const spec = this.spec.key as NonNullable<MetaSpec['key']>;
    const root = this.keyRoot as StructNode;
    const keys = this.meta.keys;
    let value: unknown = null;
    if (this.registry !== undefined && keys !== undefined && keys.nulls[i] !== 1)
      return this.registry.append(keys, i);
    if (keys !== undefined && keys.nulls[i] !== 1) {
      const b = keys.bytes.subarray(keys.offsets[i] as number, keys.offsets[i + 1] as number);
      const parsed = spec.format === 'json' ? parseJsonKey(b, this.maxDepth) : stringKey(b);
      if ('error' in parsed) return parsed.error;
      value = parsed.value;
    }
    // A key column made by this record is in the undo log: a refused record removes it.
    const err = appendObject(root, { [spec.column]: value }, cx);
    return err === undefined ? undefined : `key: ${err}`;
  }

  private appendKafka(i: number): void {
    const n = this.kafka as StructNode;
    const m = this.meta;
    const [topic, partition, offset, ts, type, headers] = n.children as [
      BytesNode,
      NumberNode,
      NumberNode,
      Int64Node,
      BytesNode,
      ListNode,
    ];
    n.col.append(true);
    topic.col.appendString(m.topic);
    partition.col.append(m.partition);
    offset.col.appendBig(m.recordOffsets[i] as bigint);
    const ms = m.timestamps[i] as number;
    if (ms < 0 || !Number.isFinite(ms)) ts.col.appendNull();
    else ts.col.append(ms * 1000);
    type.col.appendString(m.timestampTypes?.[i] === 1 ? 'LogAppendTime' : 'CreateTime');
    const hs = m.headers?.[i];
    if (hs === undefined) {
      appendNull(headers);
      return;
    }
    const el = headers.element as StructNode;
    const [hk, hv] = el.children as [BytesNode, BytesNode];
    for (const h of hs) {
      el.col.append(true);
      hk.col.appendString(h.key);
      if (h.value === null) hv.col.appendNull();
      else hv.col.appendBytes(h.value);
    }
    headers.col.append(true, el.col.length);
  }
}

/** The key column of a registry key format, for one batch. */
interface RegistryKeys {
  readonly root: StructNode;
  /** Appends key i (framed, not null); the reason when it cannot be taken. */
  append(keys: NonNullable<RecordMeta['keys']>, i: number): string | undefined;
}

/** The schema id of a framed key, or -1 (not a frame). */
function frameId(bytes: Uint8Array, s: number, e: number): number {
  if (e - s < FRAME_HEADER_BYTES || bytes[s] !== 0) return -1;
  return (
    ((bytes[s + 1] as number) * 0x1000000 +
      (((bytes[s + 2] as number) << 16) |
        ((bytes[s + 3] as number) << 8) |
        (bytes[s + 4] as number))) >>>
    0
  );
}

/**
 * The key column of a registry key format (registry/key-codecs.ts): the column's type
 * evolved with each key writer of the batch (schema id, and for Protobuf the message the
 * indexes choose), in order of first appearance (new fields optional with IDs from
 * `cx.ids`, which moves past them), then each writer's appender bound to the column's
 * node. A key writer the column cannot take refuses its keys.
 */
function registryKeys(
  format: RegistryKeyFormat,
  column: string,
  have: NestedField | undefined,
  meta: RecordMeta,
  cx: AppendContext,
  maxDepth: number,
): RegistryKeys {
  const keys = meta.keys;
  const known = meta.keySchemas ?? { schemas: {}, unknown: {} };
  const readVariant = keyVariantReader(format);
  // Per key: its writer (index into `writers`; -1: not framed, unresolved, or no variant)
  // and where its payload starts; a variant that cannot be read is the key's reason.
  const n = keys === undefined ? 0 : Math.max(0, keys.offsets.length - 1);
  const writerOf = new Int32Array(n).fill(-1);
  const payloadAt = new Int32Array(n);
  const badVariant = new Map<number, string>();
  const writers: { id: number; variant: string }[] = [];
  if (keys !== undefined) {
    const byWriter = new Map<string, number>();
    const out: VariantOut = { variant: '' };
    for (let i = 0; i < n; i++) {
      if (keys.nulls[i] === 1) continue;
      const s = keys.offsets[i] as number;
      const e = keys.offsets[i + 1] as number;
      const id = frameId(keys.bytes, s, e);
      if (id < 0 || known.schemas[id] === undefined) continue;
      let at = s + FRAME_HEADER_BYTES;
      out.variant = '';
      if (readVariant !== undefined) {
        try {
          at = readVariant(keys.bytes, at, e, out);
        } catch (err) {
          badVariant.set(i, `key: ${(err as Error).message}`);
          continue;
        }
      }
      const w = `${id}\u0000${out.variant}`;
      let k = byWriter.get(w);
      if (k === undefined) {
        k = writers.length;
        byWriter.set(w, k);
        writers.push({ id, variant: out.variant });
      }
      writerOf[i] = k;
      payloadAt[i] = at;
    }
  }
  let struct: StructType = { type: 'struct', fields: have ? [have] : [] };
  let last = cx.ids.next - 1;
  const refused = new Map<number, string>();
  const mappedByWriter = new Map<number, ReturnType<typeof mapKeySchema>>();
  for (let w = 0; w < writers.length; w++) {
    const { id, variant } = writers[w] as (typeof writers)[number];
    try {
      const m = mapKeySchema(format, known.schemas[id] as ResolvedSchema, column, variant);
      const e = evolveSchema({ ...struct, schemaId: 0 }, m.struct, last);
      // New key fields count against limits.maxColumns (where the decoder counts columns).
      const added = fieldCount({ type: 'struct', fields: e.schema.fields }) - fieldCount(struct);
      if (cx.columns !== undefined && added > 0) {
        if (cx.columns.count + added > cx.columns.max)
          throw new Error(
            `the table would have more than limits.maxColumns (${cx.columns.max}) columns`,
          );
        cx.columns.count += added;
      }
      if (e.changed) {
        struct = { type: 'struct', fields: e.schema.fields };
        last = e.lastColumnId;
      }
      mappedByWriter.set(w, m);
    } catch (err) {
      refused.set(w, `key: schema id ${id}: ${(err as Error).message}`);
    }
  }
  cx.ids.next = last + 1;
  const root = rootNode(struct);
  const appenders = new Map<number, KeyAppender>();
  for (const [w, m] of mappedByWriter) {
    try {
      appenders.set(w, m.appender(struct, root, cx, maxDepth));
    } catch (err) {
      refused.set(w, `key: schema id ${writers[w]?.id}: ${(err as Error).message}`);
    }
  }
  return {
    root,
    append(k, i) {
      const s = k.offsets[i] as number;
      const e = k.offsets[i + 1] as number;
      const id = frameId(k.bytes, s, e);
      if (id < 0) {
        try {
          readFrame(k.bytes.subarray(s, e));
        } catch (err) {
          return `key: ${(err as Error).message}`;
        }
      }
      const w = writerOf[i] as number;
      if (w < 0)
        return (
          badVariant.get(i) ?? `key: ${known.unknown[id] ?? `schema id ${id} was not resolved`}`
        );
      const why = refused.get(w);
      if (why !== undefined) return why;
      const append = appenders.get(w) as KeyAppender;
      try {
        append(k.bytes, payloadAt[i] as number, e);
      } catch (err) {
        return `key: ${(err as Error).message}`;
      }
      return undefined;
    },
  };
}

/** A string key: its UTF-8 text, or a reason. */
function stringKey(b: Uint8Array): { value: string } | { error: string } {
  try {
    return { value: utf8.decode(b) };
  } catch {
    return { error: 'key: not valid UTF-8' };
  }
}

/** A JSON key parsed exactly like a value (exact numbers, BOM), or a reason. */
function parseJsonKey(b: Uint8Array, maxDepth: number): { value: unknown } | { error: string } {
  if (b.byteLength === 0) return { error: 'key: empty (key.format json)' };
  const pre = preScan(b, 0, b.byteLength, maxDepth);
  if (pre.tooDeep) return { error: `key: nested deeper than limits.maxNestingDepth (${maxDepth})` };
  if (!isUtf8(b)) return { error: 'key: not valid UTF-8' };
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', pre.bom ? 3 : 0);
  let value: unknown;
  try {
    value = pre.exactNumbers ? parseExact(text) : JSON.parse(text);
  } catch (e) {
    const message = e instanceof Malformed ? parseErrorOf(text, e.message) : (e as Error).message;
    return { error: `key: invalid JSON: ${message}` };
  }
  if (pre.surrogateEscapes && loneSurrogate(value) !== undefined)
    return { error: 'key: a string has a lone surrogate escape, which UTF-8 cannot store' };
  return { value };
}

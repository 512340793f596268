/**
 * Decode and re-decode: runs a batch's decode task in the pool under the table's observed
 * schema and merges what the batch observed into it. A batch decoded under an older schema
 * in a way the table cannot take (SCHEMA_INCOMPATIBLE) is decoded again under the current
 * schema, so records that do not fit become per-record errors (dead letters), not a failure.
 * A batch that still does not fit after MAX_REDECODES is dead-lettered whole, each record
 * with the merge's reason (naming the field): never a fatal error, which would stop the
 * engine on the same records at every restart.
 *
 * A re-decode holds the table's schema: batches of other partitions of the table merge only
 * after it (see `exclusive`), so the schema it was decoded under is still the table's when it
 * merges and the merge succeeds. Without that, partitions adding columns of other types while
 * a batch is decoded again could refuse it on every attempt and fail the engine.
 */
import { indexById, maxFieldId, type NestedField, type StructType } from '@kice/iceberg';
import { fromPlainError, KiceError } from '../errors.ts';
import type { SchemaRegistryClient } from '../registry/client.ts';
import { isRegistryFormat, isRegistryKeyFormat } from '../registry/formats.ts';
import { type ResolvedSchemas, resolveBatchSchemas } from '../registry/resolve.ts';
import { evolveSchema } from '../schema/evolve.ts';
import { columnPaths, withoutPaths } from '../schema/paths.ts';
import { type DecodeTask, type DecodeTaskResult, unpackDecodeResult } from '../workers/tasks.ts';
import type { PreparedBatch } from './prepare-batch.ts';
import type { TableRuntime } from './routing.ts';

/** What the coordinator needs of the worker pool: run a task, get its result. */
export interface TaskPool {
  run(task: unknown, options?: { transferList?: readonly ArrayBuffer[] }): Promise<unknown>;
}

export interface DebugLog {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export type Decoded = Extract<DecodeTaskResult, { ok: true }>;

const MAX_REDECODES = 3;

/** Per table, while a batch re-decodes: settles once it has merged (or failed). */
const exclusive = new WeakMap<TableRuntime, Promise<void>>();

/** Waits until no other batch of the table is re-decoding. */
async function mergeTurn(t: TableRuntime): Promise<void> {
  for (let held = exclusive.get(t); held; held = exclusive.get(t)) await held;
}

/** Columns a fraction may still turn from long into double: all, until the table's first
 * commit starts; none after (Iceberg has no long → double promotion). */
export function relaxedIds(t: TableRuntime): number[] {
  return !t.state && !t.flushing ? [...indexById(t.observed).keys()] : [];
}

/** The decoder's limits (`limits.*` of the config). */
export interface DecodeLimits {
  readonly maxNestingDepth?: number;
  readonly maxColumns?: number;
}

/** The decode task of a batch; `hide`: without the table's placeholder columns, so the
 * batch infers their real type (a re-decode fits the batch to the columns as they are). */
function task(t: TableRuntime, b: PreparedBatch, limits: DecodeLimits, hide = true): DecodeTask {
  const got = resolved.get(b);
  const r = got?.values;
  const format = t.config.format;
  const metadata =
    b.metadata && got?.keys
      ? { spec: b.metadata.spec, records: { ...b.metadata.records, keySchemas: got.keys } }
      : b.metadata;
  return {
    ...(r && isRegistryFormat(format) ? { registry: { format, ...r } } : {}),
    kind: 'decode',
    bytes: b.bytes,
    offsets: b.offsets,
    schema: hide && t.placeholders.size > 0 ? withoutPaths(t.observed, t.placeholders) : t.observed,
    hints: t.hints,
    relaxedFieldIds: relaxedIds(t),
    options: { typeConflicts: t.config.typeConflicts, ...limits },
    ...(metadata ? { metadata } : {}),
    ...(format === 'raw'
      ? {
          raw: {
            column: t.config.valueColumn ?? 'value',
            nulls: b.nulls,
            oversized: [...b.oversized.keys()],
          },
        }
      : {}),
  };
}

/** Starts decoding at once (the pool works while earlier batches are applied). */
export function startDecode(
  pool: TaskPool,
  t: TableRuntime,
  b: PreparedBatch,
  limits: DecodeLimits,
  registry?: SchemaRegistryClient,
): Promise<unknown> {
  const values = isRegistryFormat(t.config.format);
  const keys = b.metadata?.spec.key && isRegistryKeyFormat(b.metadata.spec.key.format);
  if (values || keys) {
    if (!registry)
      throw new KiceError(
        'CONFIG_INVALID',
        `table ${t.name}: ${values ? `format ${t.config.format}` : `key.format ${b.metadata?.spec.key?.format}`} needs schemaRegistry`,
      );
    // Waits (the client retries) while the registry is down: the partition waits too.
    const k = b.metadata?.records.keys;
    return Promise.all([
      values ? resolveBatchSchemas(registry, b.bytes, b.offsets) : undefined,
      keys && k ? resolveBatchSchemas(registry, k.bytes, k.offsets) : undefined,
    ]).then(([v, ks]) => {
      resolved.set(b, { ...(v ? { values: v } : {}), ...(ks ? { keys: ks } : {}) });
      return pool.run(task(t, b, limits));
    });
  }
  return pool.run(task(t, b, limits));
}

/** The schemas a registry-format batch's values and keys were resolved with (kept for
 * re-decodes). */
const resolved = new WeakMap<
  PreparedBatch,
  { readonly values?: ResolvedSchemas; readonly keys?: ResolvedSchemas }
>();

/** The batch with no rows: every record an error, `reason` where the decoder had none. */
function refused(r: Decoded, b: PreparedBatch, reason: string): Decoded {
  const known = new Map(r.errors.map((e) => [e.index, e.reason]));
  const errors = Array.from({ length: b.offsets.length - 1 }, (_, index) => ({
    index,
    reason: known.get(index) ?? reason,
  }));
  return { ...r, ipc: new Uint8Array(0), rows: 0, errors, changed: false, placeholders: [] };
}

/** Throws SCHEMA_INCOMPATIBLE when the key column of a registry key format cannot take
 * `observed`'s without relaxing (the rest of the table may still merge relaxed). */
function declaredKeyMerge(t: TableRuntime, observed: StructType): void {
  const key = t.config.key;
  if (key === undefined || !isRegistryKeyFormat(key.format)) return;
  const only = (fields: readonly NestedField[]) => fields.filter((f) => f.name === key.column);
  const mine = only(observed.fields);
  if (mine.length === 0) return;
  evolveSchema(
    { ...t.observed, fields: only(t.observed.fields) },
    { type: 'struct', fields: mine },
    maxFieldId(t.observed),
  );
}

/**
 * Completes a decode started by `startDecode`: merges the batch's observed schema into the
 * table's (re-decoding when needed) and returns the result. Throws on a task failure.
 */
export async function finishDecode(
  pool: TaskPool,
  t: TableRuntime,
  b: PreparedBatch,
  started: Promise<unknown>,
  limits: DecodeLimits,
  log: DebugLog,
): Promise<Decoded> {
  let result = unpackDecodeResult(await started);
  let release: (() => void) | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      if (!result.ok) throw fromPlainError(result.error);
      if (!result.changed) return result;
      if (!release && exclusive.has(t)) await mergeTurn(t);
      try {
        // Before anything is committed, long and double observations make a double column;
        // afterwards only Iceberg's promotions (int→long, float→double) apply. Registry
        // formats declare their types: never relaxed (test/pipeline/registry-merge.test.ts).
        const relaxed = !t.state && !t.flushing && !isRegistryFormat(t.config.format);
        // A registry key's column is declared too, on a table of any value format.
        if (relaxed) declaredKeyMerge(t, result.schema);
        const before = result.placeholders.length > 0 ? columnPaths(t.observed) : undefined;
        const yielding = new Set(t.placeholders);
        t.observed = evolveSchema(t.observed, result.schema, maxFieldId(t.observed), {
          allowLongToDouble: relaxed,
          conflictsAsString: relaxed && t.config.typeConflicts === 'asString',
          placeholders: new Set(result.placeholders),
          tablePlaceholders: yielding,
        }).schema;
        t.placeholders = yielding;
        // Placeholders this batch added (not ones merged into an existing column).
        for (const p of result.placeholders) if (!before?.has(p)) t.placeholders.add(p);
        return result;
      } catch (e) {
        if (!(e instanceof KiceError) || e.code !== 'SCHEMA_INCOMPATIBLE') throw e;
        if (attempt >= MAX_REDECODES) {
          log.warn(
            { table: t.name, reason: e.message },
            'a batch does not fit the table after re-decoding; dead-lettered',
          );
          return refused(result, b, e.message);
        }
        log.debug(
          { table: t.name, reason: e.message },
          're-decoding a batch under the current schema',
        );
        if (!release) {
          // Taken in the same turn as the check: no other batch can take it in between.
          for (let held = exclusive.get(t); held; held = exclusive.get(t)) await held;
          exclusive.set(
            t,
            new Promise<void>((r) => {
              release = r;
            }),
          );
        }
        result = unpackDecodeResult(await pool.run(task(t, b, limits, false)));
      }
    }
  } finally {
    if (release) {
      exclusive.delete(t);
      release();
    }
  }
}

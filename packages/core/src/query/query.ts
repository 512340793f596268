/**
 * `engine.query`: one consistent view of a table — a snapshot S read through
 * @kice/iceberg's cold scan (partition and column-statistics pruning), plus the rows this
 * process holds that S does not (./hot-view.ts) — as Arrow RecordBatches. docs/embedding.md
 * ("Querying") states the contract.
 *
 * Consistency: the hot batches are captured in one synchronous step on the main thread
 * (where commits are acknowledged and flushed batches leave the view), THEN S is read
 * from the catalog: every row the capture lacks is in S, every captured row under S's
 * offsets is skipped. S's offsets are the group's `kice.offsets.<group>` in S's ancestry
 * (../commit/offsets.ts recordedProperties), as the committer reads them.
 *
 * `asOf` reads one older snapshot (by id, or the one current at a time): cold only.
 * Spec: https://iceberg.apache.org/spec/#scan-planning, #snapshots.
 */
import {
  arrowSchemaFor,
  type Bound,
  bind,
  type Catalog,
  coldScan,
  collectTable,
  type Expr,
  IcebergError,
  parseIdentifier,
  type RowGroupDecoder,
  type Schema,
  selectSchema,
  type Table,
} from '@kice/iceberg';
import type * as arrow from 'apache-arrow';
import { readOffsets, recordedProperties } from '../commit/offsets.ts';
import { KiceError } from '../errors.ts';
import type { BufferedBatch } from '../pipeline/table-buffer.ts';
import { hotBatches, selectHot } from './hot-view.ts';

export interface QueryOptions {
  /** Columns, in this order; "a.b" selects a field inside struct a. Default: all. */
  readonly select?: readonly string[];
  /** Rows to return (@kice/iceberg's expressions: eq, lt, isIn, isNull, and, or, not, …). */
  readonly where?: Expr;
  /** Time travel: that snapshot only (cold; no hot rows). */
  readonly asOf?: { readonly snapshotId?: bigint | string; readonly timestampMs?: number };
  /** At most this many rows. */
  readonly limit?: number;
}

export interface QueryResult {
  readonly table: string;
  /** The snapshot S the cold part read (null: the table has no snapshot yet). */
  readonly snapshotId: string | null;
  /** The partitions whose rows at or past `fromOffset` came from this process's memory;
   * null with `asOf`. Partitions other members own are not in it (nor their hot rows). */
  readonly hot: {
    readonly partitions: { topic: string; partition: number; fromOffset: string }[];
  } | null;
  readonly schema: arrow.Schema;
  /** Cold batches, then hot ones; iterate once. */
  readonly batches: AsyncIterable<arrow.RecordBatch>;
  toTable(): Promise<arrow.Table>;
}

/** The hot side of a table at one instant (../coordinator.ts hotAccess). */
export interface HotCapture {
  readonly view: readonly BufferedBatch[];
  readonly owned: readonly { topic: string; partition: number; start: bigint }[];
  /** The columns decoded so far (for a table not created yet). */
  readonly observed: Schema;
}

export interface QueryDeps {
  readonly catalog: () => Catalog;
  readonly groupId: string;
  /** Undefined: kice routes no topic to the table. */
  readonly capture: (table: string) => HotCapture | undefined;
  /** Decodes the cold part's row groups (./pool-decoder.ts); default: on this thread. */
  readonly decoder?: RowGroupDecoder;
}

/** The table, or undefined when it does not exist yet. */
export async function loadTable(catalog: Catalog, name: string): Promise<Table | undefined> {
  try {
    return await catalog.loadTable(parseIdentifier(name));
  } catch (e) {
    if (e instanceof IcebergError && e.code === 'NOT_FOUND') return undefined;
    throw e;
  }
}

function invalid(table: string, e: unknown): never {
  if (e instanceof IcebergError && (e.code === 'INVALID_ARGUMENT' || e.code === 'NOT_FOUND'))
    throw new KiceError('QUERY_INVALID', `query ${table}: ${e.message}`, { cause: e });
  throw e;
}

/** Checks select and where against `schema`; returns the read schema and bound filter. */
function prepare(
  table: string,
  schema: Schema,
  opts: QueryOptions,
): { read: Schema; filter: Bound | undefined } {
  try {
    const read = selectSchema(schema, opts.select);
    return { read, filter: opts.where ? bind(schema, opts.where) : undefined };
  } catch (e) {
    return invalid(table, e);
  }
}

export async function runQuery(
  deps: QueryDeps,
  table: string,
  opts: QueryOptions = {},
): Promise<QueryResult> {
  const limit = opts.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0))
    throw new KiceError(
      'QUERY_INVALID',
      `query ${table}: limit must be a non-negative integer, got ${limit}`,
    );
  // First the hot capture (synchronous), then S: see the module comment.
  const capture = deps.capture(table);
  if (!capture)
    throw new KiceError(
      'QUERY_INVALID',
      `query: unknown table "${table}" (no configured topic routes to it)`,
    );
  const t = await loadTable(deps.catalog(), table);
  if (opts.asOf) return timeTravel(table, t, opts, deps.decoder);
  const metadata = t?.metadata;
  const current = metadata?.currentSnapshotId ?? null;
  const tableSchema =
    metadata?.schemas.find((s) => s.schemaId === metadata.currentSchemaId) ?? capture.observed;
  const { read, filter } = prepare(table, tableSchema, opts);
  const recorded = metadata
    ? readOffsets(Object.fromEntries(recordedProperties(metadata).properties), deps.groupId)
    : new Map<string, bigint>();
  const hot = selectHot(capture.view, capture.owned, recorded);
  const cold =
    t && current !== null
      ? await coldScan(t, {
          snapshotId: current,
          ...(deps.decoder ? { decoder: deps.decoder } : {}),
          ...(opts.select ? { select: opts.select } : {}),
          ...(opts.where ? { filter: opts.where } : {}),
          ...(limit !== undefined ? { limit } : {}),
        }).catch((e) => invalid(table, e))
      : undefined;
  const arrowSchema = cold?.arrowSchema ?? arrowSchemaFor(read);
  async function* all(): AsyncGenerator<arrow.RecordBatch> {
    let left = limit ?? Number.POSITIVE_INFINITY;
    if (left === 0) return;
    if (cold)
      for await (const b of cold.batches()) {
        left -= b.numRows;
        yield b;
      }
    if (left <= 0) return;
    yield* hotBatches(hot.slices, tableSchema, cold?.schema ?? read, filter, left);
  }
  return result(
    table,
    current === null ? null : String(current),
    hot.partitions,
    arrowSchema,
    all(),
  );
}

async function timeTravel(
  table: string,
  t: Table | undefined,
  opts: QueryOptions,
  decoder: RowGroupDecoder | undefined,
): Promise<QueryResult> {
  const asOf = opts.asOf ?? {};
  if ((asOf.snapshotId === undefined) === (asOf.timestampMs === undefined))
    throw new KiceError(
      'QUERY_INVALID',
      `query ${table}: asOf needs exactly one of snapshotId, timestampMs`,
    );
  if (!t)
    throw new KiceError('QUERY_INVALID', `query ${table}: asOf: the table has no snapshots yet`);
  let snapshotId: bigint | undefined;
  if (asOf.snapshotId !== undefined) {
    try {
      snapshotId = BigInt(asOf.snapshotId);
    } catch {
      throw new KiceError(
        'QUERY_INVALID',
        `query ${table}: asOf.snapshotId "${asOf.snapshotId}" is not an integer`,
      );
    }
  }
  const scan = await coldScan(t, {
    ...(snapshotId !== undefined
      ? { snapshotId }
      : { asOfTimestampMs: asOf.timestampMs as number }),
    ...(decoder ? { decoder } : {}),
    ...(opts.select ? { select: opts.select } : {}),
    ...(opts.where ? { filter: opts.where } : {}),
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
  }).catch((e) => invalid(table, e));
  const id = scan.snapshot ? String(scan.snapshot.snapshotId) : null;
  return result(table, id, null, scan.arrowSchema, scan.batches());
}

function result(
  table: string,
  snapshotId: string | null,
  partitions: readonly { topic: string; partition: number; fromOffset: bigint }[] | null,
  schema: arrow.Schema,
  batches: AsyncGenerator<arrow.RecordBatch>,
): QueryResult {
  return {
    table,
    snapshotId,
    hot: partitions
      ? {
          partitions: partitions.map((p) => ({
            topic: p.topic,
            partition: p.partition,
            fromOffset: p.fromOffset.toString(),
          })),
        }
      : null,
    schema,
    batches,
    toTable: () => collectTable(schema, batches),
  };
}

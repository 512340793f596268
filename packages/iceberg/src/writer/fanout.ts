/**
 * Partitioned fanout: splits an Arrow table by partition tuple and writes one Parquet data
 * file per partition.
 *
 * Spec: https://iceberg.apache.org/spec/#partitioning (tuple = each partition field's
 * transform applied to its source column) and
 * https://iceberg.apache.org/spec/#partition-transforms
 *
 * Layout: `<dataLocation>/<field=value/…>/<name>.parquet` (`partitionPath`), or
 * `<dataLocation>/<name>.parquet` when unpartitioned.
 */
import { randomUUID } from 'node:crypto';
import type * as arrow from 'apache-arrow';
import { columnValuesById, takeRows } from '../arrow/select.ts';
import { IcebergError } from '../errors.ts';
import { type FileIO, joinPath } from '../io/file-io.ts';
import type { DataFile } from '../spec/manifest.ts';
import {
  type PartitionSpec,
  partitionPath,
  partitionTupleFor,
  partitionType,
} from '../spec/partition-spec.ts';
import type { PrimitiveType, Schema } from '../spec/types.ts';
import { toBytes } from '../spec/values.ts';
import { checkTableMatchesSchema, writeDataFile } from './data-file-writer.ts';
import type { ParquetCompression } from './parquet.ts';

export { arrowColumnToIceberg, arrowValueToIceberg, icebergRowsToArrow } from '../arrow/values.ts';

export interface WritePartitionedOptions {
  readonly schema: Schema;
  readonly spec: PartitionSpec;
  /** Arrow table whose columns follow `schema` (see `arrowSchemaFor`). */
  readonly table: arrow.Table;
  /** Directory of the table's data files, e.g. `<table location>/data`. */
  readonly dataLocation: string;
  readonly compression?: ParquetCompression;
  readonly rowGroupSize?: number;
  /** Caps a row group at about this many bytes of Arrow data (bounds the encoder's memory). */
  readonly rowGroupBytes?: number;
  /** Cap on a column chunk's dictionary page (default 64 KiB; see ./parquet.ts). */
  readonly dictionaryPageBytes?: number;
  /** Page-level statistics and the page index (./parquet.ts `pageIndex`). */
  readonly pageIndex?: boolean;
  /** Target data page size in bytes (./parquet.ts). */
  readonly dataPageBytes?: number;
  /** File name generator; default `<random uuid>.parquet`. */
  readonly fileName?: () => string;
}

/** A key that tells partition tuples apart exactly (null ≠ "null", 1 ≠ 1n never mixes). */
function tupleKey(types: readonly PrimitiveType[], tuple: readonly unknown[]): string {
  return tuple
    .map((v, i) => {
      if (v === null || v === undefined) return 'N';
      const b = toBytes(types[i] as PrimitiveType, v);
      return `V${Buffer.from(b).toString('hex')}`;
    })
    .join('/');
}

/**
 * Splits `table` by partition tuple and writes one data file per partition (rows keep their
 * relative order). Returns the DataFiles in order of each partition's first row; an empty
 * table writes nothing.
 */
export async function writePartitioned(
  io: FileIO,
  opts: WritePartitionedOptions,
): Promise<DataFile[]> {
  const { schema, spec, table } = opts;
  checkTableMatchesSchema(schema, table);
  if (table.numRows === 0) return [];
  const name = opts.fileName ?? (() => `${randomUUID()}.parquet`);
  const common = {
    schema,
    specId: spec.specId,
    ...(opts.compression === undefined ? {} : { compression: opts.compression }),
    ...(opts.rowGroupSize === undefined ? {} : { rowGroupSize: opts.rowGroupSize }),
    ...(opts.rowGroupBytes === undefined ? {} : { rowGroupBytes: opts.rowGroupBytes }),
    ...(opts.dictionaryPageBytes === undefined
      ? {}
      : { dictionaryPageBytes: opts.dictionaryPageBytes }),
    ...(opts.pageIndex === undefined ? {} : { pageIndex: opts.pageIndex }),
    ...(opts.dataPageBytes === undefined ? {} : { dataPageBytes: opts.dataPageBytes }),
  };
  if (spec.fields.length === 0) {
    const path = joinPath(opts.dataLocation, name());
    return [await writeDataFile(io, path, table, { ...common, partition: [] })];
  }

  const resultTypes = partitionType(spec, schema).fields.map((f) => f.type as PrimitiveType);
  const sources = new Map<number, unknown[]>();
  for (const f of spec.fields) {
    if (sources.has(f.sourceId)) continue;
    const values = columnValuesById(schema, table, f.sourceId);
    if (!values) {
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `partition source field ${f.sourceId} (${f.name}) is not a struct-reachable field of the schema`,
        { context: { sourceId: f.sourceId } },
      );
    }
    sources.set(f.sourceId, values);
  }

  const groups = new Map<string, { tuple: unknown[]; rows: number[] }>();
  for (let i = 0; i < table.numRows; i++) {
    const tuple = partitionTupleFor(spec, schema, (id) => sources.get(id)?.[i] ?? null);
    const key = tupleKey(resultTypes, tuple);
    let g = groups.get(key);
    if (!g) {
      g = { tuple, rows: [] };
      groups.set(key, g);
    }
    g.rows.push(i);
  }

  const out: DataFile[] = [];
  for (const g of groups.values()) {
    const part = groups.size === 1 ? table : takeRows(schema, table, g.rows);
    const dir = joinPath(opts.dataLocation, partitionPath(spec, schema, g.tuple));
    out.push(
      await writeDataFile(io, joinPath(dir, name()), part, { ...common, partition: g.tuple }),
    );
  }
  return out;
}

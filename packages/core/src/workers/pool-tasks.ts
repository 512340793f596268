/**
 * Piscina tasks (stateless): `parse` reads a raw fetch's Kafka record batches into the
 * packed layout a decode reads (../source/batches/parse.ts; the result shares its arrays,
 * in SharedArrayBuffers, instead of copying them); `decode` turns a partition batch of
 * values (JSON, raw bytes or a registry format) into one Arrow RecordBatch (IPC bytes in a
 * SharedArrayBuffer, workers/tasks.ts packDecodeResult); `flush` turns a table's buffered
 * batches (read in place from that shared memory) into Parquet data files written straight
 * to the warehouse and returns their DataFile descriptors; `readRowGroup` decodes one row
 * group of a data file for a query's cold scan (Arrow IPC out, copied). Errors never cross the boundary
 * as exceptions: results are `{ ok: false, error }` in plain data (../errors.ts
 * toPlainError).
 */
import {
  decodeRowGroup,
  icebergRowsToArrow,
  UNPARTITIONED_SPEC,
  writePartitioned,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { decodeJsonBatch } from '../decode/json-decoder.ts';
import { decodeRawBatch } from '../decode/raw-decoder.ts';
import { toPlainError } from '../errors.ts';
import { decodeRegistryBatch } from '../registry/batch.ts';
import { conformToSchema } from '../schema/conform.ts';
import { parseRecordBatches, RecordBatchError } from '../source/batches/parse.ts';
import { sharedFileIO } from '../storage/file-io.ts';
import {
  type DeadLetterTask,
  type DecodeTask,
  type DecodeTaskResult,
  type FlushTask,
  type FlushTaskResult,
  type ParseTask,
  type ParseTaskResult,
  packDecodeResult,
  type ReadRowGroupResult,
  type ReadRowGroupTask,
} from './tasks.ts';

export type {
  DeadLetterTask,
  DecodeTask,
  DecodeTaskResult,
  FlushTask,
  FlushTaskResult,
  ParseTask,
  ParseTaskResult,
  ReadRowGroupResult,
  ReadRowGroupTask,
} from './tasks.ts';

/** Parses a raw fetch; the result's big arrays are in shared memory (see ParseTaskResult). */
function parse(task: ParseTask): ParseTaskResult {
  try {
    const parsed = parseRecordBatches(task);
    let minTimestamp = Number.POSITIVE_INFINITY;
    for (const ts of parsed.records?.timestamps ?? []) if (ts < minTimestamp) minTimestamp = ts;
    return { ok: true, parsed, minTimestamp };
  } catch (e) {
    const offset = e instanceof RecordBatchError ? e.context.offset : undefined;
    return {
      ok: false,
      error: toPlainError(e),
      ...(typeof offset === 'string' ? { batchOffset: BigInt(offset) } : {}),
    };
  }
}

function decode(task: DecodeTask): DecodeTaskResult {
  try {
    if (task.registry) {
      const r = decodeRegistryBatch(task.registry.format, {
        bytes: task.bytes,
        offsets: task.offsets,
        schema: task.schema,
        schemas: task.registry.schemas,
        unknown: task.registry.unknown,
        ...(task.metadata ? { metadata: task.metadata } : {}),
      });
      return { ok: true, ...r, placeholders: [] };
    }
    if (task.raw) {
      const r = decodeRawBatch({
        bytes: task.bytes,
        offsets: task.offsets,
        nulls: task.raw.nulls,
        oversized: task.raw.oversized,
        column: task.raw.column,
        schema: task.schema,
        options: task.options ?? {},
        hints: task.hints,
        ...(task.metadata ? { metadata: task.metadata } : {}),
      });
      return { ok: true, ...r };
    }
    const r = decodeJsonBatch({
      bytes: task.bytes,
      offsets: task.offsets,
      schema: task.schema,
      hints: task.hints,
      relaxedFieldIds: task.relaxedFieldIds,
      options: task.options,
      ...(task.metadata ? { metadata: task.metadata } : {}),
    });
    return {
      ok: true,
      ipc: r.ipc,
      rows: r.rows,
      errors: r.errors,
      schema: r.schema,
      changed: r.changed,
      placeholders: r.placeholders,
    };
  } catch (e) {
    return { ok: false, error: toPlainError(e) };
  }
}

async function flush(task: FlushTask): Promise<FlushTaskResult> {
  try {
    const tables = task.batches.map((ipc) => conformToSchema(arrow.tableFromIPC(ipc), task.schema));
    let table = tables[0];
    for (let i = 1; i < tables.length; i++)
      table = (table as arrow.Table).concat(tables[i] as arrow.Table);
    if (!table || table.numRows === 0) return { ok: true, files: [], rows: 0 };
    const files = await writePartitioned(sharedFileIO(task.storage), {
      schema: task.schema,
      spec: task.spec,
      table,
      dataLocation: task.dataLocation,
      compression: task.compression,
      rowGroupSize: task.rowGroupSize,
      rowGroupBytes: task.rowGroupBytes,
      dictionaryPageBytes: task.dictionaryPageBytes,
      ...(task.pageIndex ? { pageIndex: true } : {}),
    });
    return { ok: true, files, rows: table.numRows };
  } catch (e) {
    return { ok: false, error: toPlainError(e) };
  }
}

async function deadLetters(task: DeadLetterTask): Promise<FlushTaskResult> {
  try {
    if (task.rows.length === 0) return { ok: true, files: [], rows: 0 };
    const files = await writePartitioned(sharedFileIO(task.storage), {
      schema: task.schema,
      spec: UNPARTITIONED_SPEC,
      table: icebergRowsToArrow(task.schema, task.rows),
      dataLocation: task.dataLocation,
      compression: task.compression,
    });
    return { ok: true, files, rows: task.rows.length };
  } catch (e) {
    return { ok: false, error: toPlainError(e) };
  }
}

/** A row group for a query's cold scan (../query/pool-decoder.ts). */
async function readRowGroup(task: ReadRowGroupTask): Promise<ReadRowGroupResult> {
  try {
    return { ok: true, ipc: await decodeRowGroup(task) };
  } catch (e) {
    return { ok: false, error: toPlainError(e) };
  }
}

export default async function run(
  task: DecodeTask | FlushTask | DeadLetterTask | ParseTask | ReadRowGroupTask,
): Promise<unknown> {
  if (task.kind === 'decode') return packDecodeResult(decode(task));
  if (task.kind === 'readRowGroup') return readRowGroup(task);
  if (task.kind === 'parse') return parse(task);
  if (task.kind === 'deadLetters') return deadLetters(task);
  return flush(task);
}

/**
 * Shared pieces of the interop tests: a fresh warehouse folder per test file, and an
 * append of in-memory rows to a table through the library's public API (fanout writer +
 * fast append), the way kice's committer does it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AppendOperation,
  currentSchema,
  FilesystemCatalog,
  fastAppend,
  icebergRowsToArrow,
  LocalFileIO,
  specById,
  type Table,
  writePartitioned,
} from '@kice/iceberg';

/** A FilesystemCatalog over an existing warehouse folder (absolute path). */
export function newWarehouseAt(dir: string): { io: LocalFileIO; catalog: FilesystemCatalog } {
  const io = new LocalFileIO();
  return { io, catalog: new FilesystemCatalog({ warehouse: dir, io }) };
}

/** A fresh warehouse folder and a FilesystemCatalog over it (warehouse = absolute path). */
export async function newWarehouse(prefix: string): Promise<{
  dir: string;
  io: LocalFileIO;
  catalog: FilesystemCatalog;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), `kice-${prefix}-`));
  const { io, catalog } = newWarehouseAt(dir);
  return { dir, io, catalog, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Writes `rows` (in-memory conventions, keyed by column name) as data files of the
 * table's default spec and commits them in one fast append (or the append `start`
 * begins, e.g. `mergeAppend`); returns the committed table.
 */
export async function appendRows(
  table: Table,
  rows: readonly Record<string, unknown>[],
  start: (table: Table) => AppendOperation = fastAppend,
) {
  const schema = currentSchema(table.metadata);
  const files = await writePartitioned(table.io, {
    schema,
    spec: specById(table.metadata, table.metadata.defaultSpecId),
    table: icebergRowsToArrow(schema, rows as Record<string, unknown>[]),
    dataLocation: `${table.metadata.location}/data`,
  });
  const op = start(table);
  for (const f of files) op.appendFile(f);
  const committed = await op.commit();
  return { table: committed, files, attempts: op.attempts };
}

/**
 * Shared pieces of the cold scan tests: an in-memory table of a given schema written with
 * small row groups, and a FileIO wrapper that records every ranged read.
 */
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import type { Table } from '../../src/catalog/catalog.ts';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import type { DataFile } from '../../src/spec/manifest.ts';
import { currentSchema, specById } from '../../src/spec/table-metadata.ts';
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import { writePartitioned } from '../../src/writer/fanout.ts';

/** id (required long), cat and pad (optional strings): the reads and decoder tests' table. */
export const ID_CAT_PAD: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'cat', required: false, type: 'string' },
    { id: 3, name: 'pad', required: false, type: 'string' },
  ],
});

export interface RangeRead {
  readonly path: string;
  readonly start: number;
  readonly length: number;
}

/** A MemoryFileIO that records ranged reads and whole-file reads of Parquet files. */
export class CountingIO extends MemoryFileIO {
  readonly ranges: RangeRead[] = [];
  readonly wholeParquet: string[] = [];

  override async read(path: string): Promise<Uint8Array> {
    if (path.endsWith('.parquet')) this.wholeParquet.push(path);
    return super.read(path);
  }

  override async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    this.ranges.push({ path, start: offset, length });
    const data = this.files.get(path);
    if (!data) throw new Error(`missing ${path}`);
    return data.slice(offset, offset + length);
  }

  reset(): void {
    this.ranges.length = 0;
    this.wholeParquet.length = 0;
  }
}

export async function tableOf(
  schema: Schema,
): Promise<{ io: CountingIO; catalog: FilesystemCatalog; table: Table }> {
  const io = new CountingIO();
  const catalog = new FilesystemCatalog({ warehouse: 'memory://wh', io });
  await catalog.createNamespace(['db']);
  const table = await catalog.createTable({ namespace: ['db'], name: 't' }, { schema });
  return { io, catalog, table };
}

/** Appends `rows` as one data file (per partition) with row groups of `rowGroupSize` rows
 * (with `pages`: a page index, data pages of about that many bytes). */
export async function append(
  table: Table,
  rows: readonly Record<string, unknown>[],
  rowGroupSize: number,
  pages?: { readonly dataPageBytes: number },
): Promise<{ table: Table; files: DataFile[] }> {
  const s = currentSchema(table.metadata);
  const files = await writePartitioned(table.io, {
    schema: s,
    spec: specById(table.metadata, table.metadata.defaultSpecId),
    table: icebergRowsToArrow(s, rows),
    dataLocation: `${table.metadata.location}/data`,
    rowGroupSize,
    ...(pages ? { pageIndex: true, dataPageBytes: pages.dataPageBytes } : {}),
  });
  const op = fastAppend(table);
  for (const f of files) op.appendFile(f);
  return { table: await op.commit(), files };
}

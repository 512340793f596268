/**
 * Shared pieces of the transaction tests: an in-memory table, small appends, and readers
 * of a snapshot's manifests with inheritance applied.
 */
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import type { Table } from '../../src/catalog/catalog.ts';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import type { DataFile, ManifestEntry, ManifestFile } from '../../src/spec/manifest.ts';
import { readManifest } from '../../src/spec/manifest-file.ts';
import { readManifestList } from '../../src/spec/manifest-list.ts';
import type { PartitionSpec } from '../../src/spec/partition-spec.ts';
import type { Snapshot } from '../../src/spec/snapshot.ts';
import { currentSchema, currentSnapshot, specById } from '../../src/spec/table-metadata.ts';
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';
import type { AppendOperation } from '../../src/transaction/append.ts';
import { writePartitioned } from '../../src/writer/fanout.ts';

export const schema: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'cat', required: false, type: 'string' },
  ],
});

export async function newTable(
  properties: Record<string, string> = {},
  spec?: PartitionSpec,
): Promise<{ io: MemoryFileIO; catalog: FilesystemCatalog; table: Table }> {
  const io = new MemoryFileIO();
  const catalog = new FilesystemCatalog({ warehouse: 'memory://wh', io });
  await catalog.createNamespace(['db']);
  const table = await catalog.createTable(
    { namespace: ['db'], name: 't' },
    { schema, properties, ...(spec ? { spec } : {}) },
  );
  return { io, catalog, table };
}

/** Rows with ids from..from+count-1. */
export function rows(from: number, count: number, cat = 'a'): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({ id: BigInt(from + i), cat }));
}

/** Writes `data` as files of the default spec and commits them with `start(table)`. */
export async function appendWith(
  start: (t: Table) => AppendOperation,
  table: Table,
  data: Record<string, unknown>[],
): Promise<{ table: Table; files: DataFile[] }> {
  const s = currentSchema(table.metadata);
  const files = await writePartitioned(table.io, {
    schema: s,
    spec: specById(table.metadata, table.metadata.defaultSpecId),
    table: icebergRowsToArrow(s, data),
    dataLocation: `${table.metadata.location}/data`,
  });
  const op = start(table);
  for (const f of files) op.appendFile(f);
  return { table: await op.commit(), files };
}

export async function manifestList(table: Table, snapshot?: Snapshot): Promise<ManifestFile[]> {
  const s = snapshot ?? currentSnapshot(table.metadata);
  if (!s) return [];
  return readManifestList(await table.io.read(s.manifestList));
}

export interface ListedEntry {
  readonly manifest: ManifestFile;
  /** As stored in the manifest (null = inherited). */
  readonly raw: ManifestEntry;
}

/** Every entry of every manifest a snapshot lists, in list order. */
export async function listedEntries(table: Table, snapshot?: Snapshot): Promise<ListedEntry[]> {
  const out: ListedEntry[] = [];
  for (const manifest of await manifestList(table, snapshot)) {
    const { entries } = readManifest(await table.io.read(manifest.manifestPath));
    for (const raw of entries) out.push({ manifest, raw });
  }
  return out;
}

/** Files in the table's metadata folder whose names end with `.avro`. */
export async function avroFiles(table: Table): Promise<string[]> {
  return (await table.io.list(`${table.metadata.location}/metadata/`)).filter((p) =>
    p.endsWith('.avro'),
  );
}

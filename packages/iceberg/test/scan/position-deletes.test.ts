import { describe, expect, it } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import type { Table } from '../../src/catalog/catalog.ts';
import { type ColdScanOptions, coldScan, collectTable } from '../../src/scan/cold-scan.ts';
import { DELETE_FILE_PATH_ID, POSITION_DELETE_SCHEMA } from '../../src/scan/deletes.ts';
import { eq, gtEq } from '../../src/scan/expressions.ts';
import { planFiles } from '../../src/scan/planner.ts';
import { arrowTableToRows } from '../../src/scan/read-parquet.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import type { DataFile, ManifestFile } from '../../src/spec/manifest.ts';
import { writeManifest } from '../../src/spec/manifest-file.ts';
import { readManifestList, writeManifestList } from '../../src/spec/manifest-list.ts';
import { partitionType } from '../../src/spec/partition-spec.ts';
import { currentSchema, currentSnapshot, specById } from '../../src/spec/table-metadata.ts';
import { toBytes } from '../../src/spec/values.ts';
import { newSnapshotId } from '../../src/transaction/append.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import { writeDataFile } from '../../src/writer/data-file-writer.ts';
import { appendWith, newTable, rows } from '../transaction/tables.ts';
import { append } from './cold-scan-support.ts';

/** Writes a position delete file (rows sorted by path, then position, as the spec asks). */
async function positionDeleteFile(
  table: Table,
  name: string,
  deletes: readonly { path: string; pos: number }[],
): Promise<DataFile> {
  const sorted = [...deletes].sort((a, b) =>
    a.path === b.path ? a.pos - b.pos : a.path < b.path ? -1 : 1,
  );
  const arrow = icebergRowsToArrow(
    POSITION_DELETE_SCHEMA,
    sorted.map((d) => ({ file_path: d.path, pos: BigInt(d.pos) })),
  );
  const f = await writeDataFile(table.io, `${table.metadata.location}/data/${name}`, arrow, {
    schema: POSITION_DELETE_SCHEMA,
    specId: table.metadata.defaultSpecId,
    partition: [],
  });
  // Java keeps full (untruncated) metrics for a position delete file's columns: a file
  // naming one data file has file_path bounds equal to that path.
  const paths = new Set(deletes.map((d) => d.path));
  if (paths.size !== 1) return { ...f, content: 1 };
  const path = toBytes('string', [...paths][0]);
  const lowerBounds = new Map(f.lowerBounds).set(DELETE_FILE_PATH_ID, path);
  const upperBounds = new Map(f.upperBounds).set(DELETE_FILE_PATH_ID, path);
  return { ...f, content: 1, lowerBounds, upperBounds };
}

/**
 * Commits a snapshot that adds a delete manifest with `files` (the data sequence number of
 * an entry: `seq`, or inherited from the new snapshot when absent).
 */
async function commitDeletes(
  table: Table,
  files: readonly { file: DataFile; seq?: number }[],
): Promise<Table> {
  const m = table.metadata;
  const parent = currentSnapshot(m);
  if (!parent) throw new Error('no parent snapshot');
  const schema = currentSchema(m);
  const spec = specById(m, m.defaultSpecId);
  const snapshotId = newSnapshotId();
  const seq = m.lastSequenceNumber + 1;
  const manifestPath = `${m.location}/metadata/deletes-${seq}.avro`;
  const bytes = writeManifest({
    schema,
    spec,
    partitionType: partitionType(spec, schema),
    content: 'deletes',
    entries: files.map((d) => ({
      status: 1,
      snapshotId,
      sequenceNumber: d.seq ?? null,
      fileSequenceNumber: d.seq ?? null,
      dataFile: d.file,
    })),
  });
  await table.io.write(manifestPath, bytes);
  const manifest: ManifestFile = {
    manifestPath,
    manifestLength: bytes.length,
    partitionSpecId: spec.specId,
    content: 1,
    sequenceNumber: seq,
    minSequenceNumber: Math.min(seq, ...files.map((d) => d.seq ?? seq)),
    addedSnapshotId: snapshotId,
    addedFilesCount: files.length,
    existingFilesCount: 0,
    deletedFilesCount: 0,
    addedRowsCount: files.reduce((n, d) => n + d.file.recordCount, 0),
    existingRowsCount: 0,
    deletedRowsCount: 0,
  };
  const listPath = `${m.location}/metadata/snap-${snapshotId}-deletes.avro`;
  await table.io.write(
    listPath,
    writeManifestList({
      snapshotId,
      parentSnapshotId: parent.snapshotId,
      sequenceNumber: seq,
      manifests: [...readManifestList(await table.io.read(parent.manifestList)), manifest],
    }),
  );
  return table.catalog.commitTable(
    table.identifier,
    [{ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: parent.snapshotId }],
    [
      {
        action: 'add-snapshot',
        snapshot: {
          snapshotId,
          parentSnapshotId: parent.snapshotId,
          sequenceNumber: seq,
          timestampMs: Date.now(),
          manifestList: listPath,
          summary: { operation: 'delete' },
          schemaId: schema.schemaId,
        },
      },
      { action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId, type: 'branch' } },
    ],
  );
}

const ids = (rs: readonly Record<string, unknown>[]) =>
  rs.map((r) => Number(r.id as bigint)).sort((a, b) => a - b);

describe('scan with position delete files', () => {
  it('drops exactly the deleted positions of the files they name', async () => {
    let { table } = await newTable();
    const a = await appendWith(fastAppend, table, rows(0, 5)); // ids 0..4, one file
    const b = await appendWith(fastAppend, a.table, rows(5, 5)); // ids 5..9
    table = b.table;
    const fileA = a.files[0]?.filePath as string;
    const fileB = b.files[0]?.filePath as string;
    // One file naming both data files; positions 1, 3 of A (ids 1, 3) and 0 of B (id 5);
    // a row naming a file that is not in the table changes nothing.
    const del = await positionDeleteFile(table, 'del-1.parquet', [
      { path: fileA, pos: 3 },
      { path: fileB, pos: 0 },
      { path: fileA, pos: 1 },
      { path: `${fileA}.other`, pos: 2 },
    ]);
    const before = table;
    table = await commitDeletes(table, [{ file: del }]);
    expect(ids(await scanRows(table))).toEqual([0, 2, 4, 6, 7, 8, 9]);
    // The snapshot before the delete still reads every row.
    const first = currentSnapshot(before.metadata)?.snapshotId as bigint;
    expect(ids(await scanRows(table, { snapshotId: first }))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    // Filters apply to the rows left.
    expect(ids(await scanRows(table, { filter: gtEq('id', 3n) }))).toEqual([4, 6, 7, 8, 9]);
    expect(await scanRows(table, { filter: eq('id', 1n) })).toEqual([]);
    const plan = await planFiles(table);
    expect(plan.deleteFiles).toBe(1);
    expect(plan.tasks.map((t) => t.deletes.map((d) => d.filePath))).toEqual([
      [del.filePath],
      [del.filePath],
    ]);
  });

  it('applies a delete file only to data files of a lower or equal sequence number', async () => {
    let { table } = await newTable();
    const a = await appendWith(fastAppend, table, rows(0, 3)); // seq 1
    const b = await appendWith(fastAppend, a.table, rows(3, 3)); // seq 2
    table = b.table;
    const fileA = a.files[0]?.filePath as string;
    const fileB = b.files[0]?.filePath as string;
    // Written as if by a writer at sequence number 1: it applies to A (seq 1), not to B.
    const old = await positionDeleteFile(table, 'old.parquet', [
      { path: fileA, pos: 0 },
      { path: fileB, pos: 0 },
    ]);
    // A file naming one data file (equal file_path bounds): indexed by that path.
    const single = await positionDeleteFile(table, 'single.parquet', [{ path: fileB, pos: 2 }]);
    table = await commitDeletes(table, [{ file: old, seq: 1 }, { file: single }]);
    expect(ids(await scanRows(table))).toEqual([1, 2, 3, 4]);
    const plan = await planFiles(table);
    const bySeq = plan.tasks.map((t) => [t.sequenceNumber, t.deletes.map((d) => d.filePath)]);
    expect(bySeq.sort()).toEqual([
      [1, [old.filePath]],
      [2, [single.filePath]],
    ]);
  });

  it('refuses equality delete files', async () => {
    let { table } = await newTable();
    table = (await appendWith(fastAppend, table, rows(0, 2))).table;
    const eqDelete = {
      ...(await positionDeleteFile(table, 'eq.parquet', [])),
      content: 2 as const,
    };
    table = await commitDeletes(table, [{ file: { ...eqDelete, equalityIds: [1] } }]);
    await expect(scanRows(table)).rejects.toThrow(/equality delete files are not supported yet/);
  });
});

describe('cold scan with position delete files', () => {
  it('drops deleted positions across row groups, on the late-materialized path too', async () => {
    const { table: empty } = await newTable();
    const a = await append(empty, rows(0, 100), 10);
    const file = a.files[0]?.filePath as string;
    const deleted = [0, 9, 10, 55, 99];
    const del = await positionDeleteFile(
      a.table,
      'del-rg.parquet',
      deleted.map((pos) => ({ path: file, pos })),
    );
    const table = await commitDeletes(a.table, [{ file: del }]);
    const kept = (from: number) =>
      Array.from({ length: 100 - from }, (_, i) => i + from).filter((i) => !deleted.includes(i));
    const idsOf = async (options: ColdScanOptions) => {
      const scan = await coldScan(table, options);
      const t = await collectTable(scan.arrowSchema, scan.batches());
      return { ids: ids(arrowTableToRows(scan.schema, t)), stats: scan.stats };
    };
    expect((await idsOf({})).ids).toEqual(kept(0));
    // Filter on id, output id: one pass. Row groups 0..4 skipped by statistics.
    const onePass = await idsOf({ filter: gtEq('id', 50n), select: ['id'] });
    expect(onePass.ids).toEqual(kept(50));
    expect(onePass.stats).toMatchObject({ rowGroupsRead: 5, rowGroupsSkipped: 5 });
    // Filter on cat, output id: id read after the mask (which has the deletes cleared).
    const late = await idsOf({ filter: eq('cat', 'a'), select: ['id'] });
    expect(late.ids).toEqual(kept(0));
    expect(late.stats.rowGroupsRead).toBe(10);
  });
});

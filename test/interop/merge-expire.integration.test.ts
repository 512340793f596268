/**
 * A table written by @kice/iceberg with 125 MERGE appends (min-count-to-merge 20, so the
 * manifests were merged six times) and then an expiry keeping the last 10 snapshots, read
 * back by PyIceberg and DuckDB: every row exactly once, PyIceberg's `inspect.manifests()`
 * equal to our manifest list, its `inspect.entries()` showing each data file once with
 * the status we wrote and the data/file sequence numbers of the commit that added it
 * (EXISTING entries carry them explicitly, ADDED ones inherit), and DuckDB's
 * `iceberg_metadata` agreeing on the entry statuses.
 *
 * Then a table with write.metadata.delete-after-commit.enabled and
 * previous-versions-max 5, merge-appended to with expiry after every commit (kice's and
 * the commit benchmark's policy): only the newest six metadata files are left, and
 * PyIceberg — opening the table by its folder (version-hint.text) and by its metadata
 * file — and DuckDB still read every row; PyIceberg's metadata log names only files that
 * exist.
 */
import {
  currentSnapshot,
  type DataFile,
  expireSnapshots,
  type ManifestFile,
  maintainAfterCommit,
  mergeAppend,
  readManifest,
  readManifestList,
  type Schema,
  type Snapshot,
  scanRows,
  type Table,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  duckdbQuery,
  duckdbRows,
  pyicebergHistory,
  pyicebergRows,
  type Row,
  runPython,
  sortBy,
} from '../support/readers.ts';
import { appendRows, newWarehouse } from './helpers.ts';

const APPENDS = 125;
const ROWS_PER_APPEND = 4;
const RETAIN = 10;

const SCHEMA: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'cat', required: false, type: 'string' },
    { id: 3, name: 'v', required: false, type: 'double' },
  ],
};

/** PyIceberg's metadata tables of the current snapshot, as JSON (ids as strings). */
const INSPECT_PY = `
import json, sys
from pyiceberg.table import StaticTable
t = StaticTable.from_metadata(sys.argv[1])
manifests = [
    {"path": r["path"], "content": r["content"], "spec": r["partition_spec_id"],
     "added_snapshot_id": str(r["added_snapshot_id"]), "added": r["added_data_files_count"],
     "existing": r["existing_data_files_count"], "deleted": r["deleted_data_files_count"]}
    for r in t.inspect.manifests().to_pylist()
]
entries = [
    {"status": r["status"], "snapshot_id": str(r["snapshot_id"]),
     "sequence_number": r["sequence_number"], "file_sequence_number": r["file_sequence_number"],
     "file_path": r["data_file"]["file_path"]}
    for r in t.inspect.entries().to_pylist()
]
print(json.dumps({"manifests": manifests, "entries": entries}))
`;

interface PyInspect {
  manifests: {
    path: string;
    content: number;
    spec: number;
    added_snapshot_id: string;
    added: number;
    existing: number;
    deleted: number;
  }[];
  entries: {
    status: number;
    snapshot_id: string;
    sequence_number: number;
    file_sequence_number: number;
    file_path: string;
  }[];
}

const warehouse = await newWarehouse('merge-expire');
afterAll(() => warehouse.cleanup());

describe(`${APPENDS} merge appends + expiry, read by PyIceberg and DuckDB`, () => {
  let table: Table;
  let before: Snapshot[];
  const written: Row[] = [];
  /** data file path → the snapshot that added it */
  const addedBy = new Map<string, Snapshot>();
  const files: DataFile[] = [];
  let expired: bigint[];

  beforeAll(async () => {
    await warehouse.catalog.createNamespace(['db']);
    table = await warehouse.catalog.createTable(
      { namespace: ['db'], name: 'merged' },
      {
        schema: SCHEMA,
        spec: {
          specId: 0,
          fields: [{ sourceId: 2, fieldId: 1000, name: 'cat', transform: 'identity' }],
        },
        properties: { 'commit.manifest.min-count-to-merge': '20' },
      },
    );
    for (let a = 0; a < APPENDS; a++) {
      const rows = Array.from({ length: ROWS_PER_APPEND }, (_, j) => {
        const id = a * ROWS_PER_APPEND + j;
        return { id: BigInt(id), cat: j % 2 === 0 ? 'even' : 'odd', v: id / 4 };
      });
      const res = await appendRows(table, rows, mergeAppend);
      table = res.table;
      written.push(...rows);
      files.push(...res.files);
      const snap = currentSnapshot(table.metadata) as Snapshot;
      for (const f of res.files) addedBy.set(f.filePath, snap);
    }
    before = [...table.metadata.snapshots];
    const res = await expireSnapshots(table, { olderThanMs: Date.now() + 1, retainLast: RETAIN });
    table = res.table;
    expired = res.expiredSnapshotIds;
  });

  it('merged the manifests and expired all but the last 10 snapshots', async () => {
    expect(before.length).toBe(APPENDS);
    const merges = before.filter((s) => s.summary['manifests-replaced'] !== '0');
    expect(merges.map((s) => s.sequenceNumber)).toEqual([20, 39, 58, 77, 96, 115]);
    expect(expired).toEqual(before.slice(0, APPENDS - RETAIN).map((s) => s.snapshotId));
    expect(table.metadata.snapshots).toEqual(before.slice(APPENDS - RETAIN));
    const list = readManifestList(
      await table.io.read((currentSnapshot(table.metadata) as Snapshot).manifestList),
    );
    expect(list.length).toBe(APPENDS - 115 + 1);
    // Our own reader: every row once.
    expect(sortBy(await scanRows(table), 'id')).toEqual(written);
    // Only what the retained snapshots reach is left in the metadata folder; all data stays.
    const reached = new Set<string>();
    for (const s of table.metadata.snapshots) {
      reached.add(s.manifestList);
      for (const m of readManifestList(await table.io.read(s.manifestList)))
        reached.add(m.manifestPath);
    }
    const avro = (await table.io.list(`${table.metadata.location}/metadata/`)).filter((p) =>
      p.endsWith('.avro'),
    );
    expect(new Set(avro)).toEqual(reached);
    for (const f of files) expect(await table.io.exists(f.filePath)).toBe(true);
  });

  it('PyIceberg reads every row exactly once, and the retained history', async () => {
    expect(sortBy(await pyicebergRows(table.metadataLocation), 'id')).toEqual(written);
    const history = await pyicebergHistory(table.metadataLocation);
    expect(history.currentSnapshotId).toBe(table.metadata.currentSnapshotId);
    expect(history.snapshots.map((s) => s.sequenceNumber)).toEqual(
      Array.from({ length: RETAIN }, (_, i) => APPENDS - RETAIN + 1 + i),
    );
    // time travel to the oldest retained snapshot
    const oldest = table.metadata.snapshots[0] as Snapshot;
    const rows = await pyicebergRows(table.metadataLocation, { snapshotId: oldest.snapshotId });
    expect(rows.length).toBe(oldest.sequenceNumber * ROWS_PER_APPEND);
  });

  it('DuckDB reads every row exactly once', async () => {
    expect(sortBy(await duckdbRows(table.metadataLocation), 'id')).toEqual(written);
    const [agg] = await duckdbQuery(
      table.metadataLocation,
      'SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi FROM {t}',
    );
    const total = APPENDS * ROWS_PER_APPEND;
    expect(agg).toEqual({ n: BigInt(total), d: BigInt(total), lo: 0n, hi: BigInt(total - 1) });
  });

  it('PyIceberg inspect.manifests()/entries() agree with what we wrote', async () => {
    const py = JSON.parse(await runPython(['-c', INSPECT_PY, table.metadataLocation])) as PyInspect;
    const list: ManifestFile[] = readManifestList(
      await table.io.read((currentSnapshot(table.metadata) as Snapshot).manifestList),
    );
    expect(py.manifests).toEqual(
      list.map((m) => ({
        path: m.manifestPath,
        content: 0,
        spec: 0,
        added_snapshot_id: String(m.addedSnapshotId),
        added: m.addedFilesCount,
        existing: m.existingFilesCount,
        deleted: 0,
      })),
    );
    // The statuses we wrote, manifest by manifest.
    const ours: { status: number; filePath: string }[] = [];
    for (const m of list) {
      for (const e of readManifest(await table.io.read(m.manifestPath)).entries) {
        ours.push({ status: e.status, filePath: e.dataFile.filePath });
        if (e.status === 0) {
          // merged EXISTING entries: original snapshot and sequence numbers, explicit
          const s = addedBy.get(e.dataFile.filePath) as Snapshot;
          expect([e.snapshotId, e.sequenceNumber, e.fileSequenceNumber]).toEqual([
            s.snapshotId,
            s.sequenceNumber,
            s.sequenceNumber,
          ]);
        }
      }
    }
    expect(py.entries.map((e) => ({ status: e.status, filePath: e.file_path }))).toEqual(ours);
    // each data file exactly once, with the sequence numbers of the commit that added it
    expect(py.entries.length).toBe(files.length);
    expect(new Set(py.entries.map((e) => e.file_path))).toEqual(new Set(addedBy.keys()));
    for (const e of py.entries) {
      const s = addedBy.get(e.file_path) as Snapshot;
      expect([e.snapshot_id, e.sequence_number, e.file_sequence_number]).toEqual([
        String(s.snapshotId),
        s.sequenceNumber,
        s.sequenceNumber,
      ]);
    }
    const statuses = new Set(py.entries.map((e) => e.status));
    expect(statuses).toEqual(new Set([0, 1]));
  });

  it("DuckDB's iceberg_metadata sees the same entry statuses", async () => {
    const path = table.metadataLocation.replace(/'/g, "''");
    const rows = await duckdbQuery(
      table.metadataLocation,
      `SELECT status, count(*) AS n FROM iceberg_metadata('${path}') GROUP BY status ORDER BY status`,
    );
    const list = readManifestList(
      await table.io.read((currentSnapshot(table.metadata) as Snapshot).manifestList),
    );
    const added = list.reduce((a, m) => a + m.addedFilesCount, 0);
    const existing = list.reduce((a, m) => a + m.existingFilesCount, 0);
    expect(rows).toEqual([
      { status: 'ADDED', n: BigInt(added) },
      { status: 'EXISTING', n: BigInt(existing) },
    ]);
  });
});

/** PyIceberg's view of a table opened by folder or metadata file: metadata log + rows. */
const METADATA_LOG_PY = `
import json, os, sys
from pyiceberg.table import StaticTable
t = StaticTable.from_metadata(sys.argv[1])
log = [r["file"] for r in t.inspect.metadata_log_entries().to_pylist()]
print(json.dumps({
    "location": t.metadata_location,
    "log": log,
    "missing": [f for f in log if not os.path.exists(f.removeprefix("file://"))],
    "rows": t.scan().to_arrow().num_rows,
}))
`;

describe('delete-after-commit: old metadata files removed, readers unaffected', () => {
  const CLEAN_APPENDS = 20;
  let table: Table;
  const written: Row[] = [];

  beforeAll(async () => {
    await warehouse.catalog.createNamespace(['db']);
    table = await warehouse.catalog.createTable(
      { namespace: ['db'], name: 'cleaned' },
      {
        schema: SCHEMA,
        properties: {
          'write.metadata.delete-after-commit.enabled': 'true',
          'write.metadata.previous-versions-max': '5',
        },
      },
    );
    for (let a = 0; a < CLEAN_APPENDS; a++) {
      const rows = [{ id: BigInt(a), cat: 'c', v: a / 2 }];
      table = (await appendRows(table, rows, mergeAppend)).table;
      table = (await maintainAfterCommit(table, { olderThanMs: Date.now() + 1, retainLast: 10 }))
        .table;
      written.push(...rows);
    }
  });

  it('keeps only the newest six metadata files, and PyIceberg and DuckDB read every row', async () => {
    const dir = `${table.metadata.location}/metadata`;
    const onDisk = (await table.io.list(`${dir}/`))
      .filter((p) => p.endsWith('.metadata.json'))
      .map((p) => p.slice(p.lastIndexOf('/') + 1))
      .sort((a, b) => Number(a.slice(1, -14)) - Number(b.slice(1, -14)));
    // 20 appends and (from the 11th on) 10 expiries after the create: v1..v31.
    expect(table.metadataLocation.endsWith('/v31.metadata.json')).toBe(true);
    expect(onDisk).toEqual([26, 27, 28, 29, 30, 31].map((n) => `v${n}.metadata.json`));
    expect(table.metadata.snapshots).toHaveLength(10);

    for (const opened of [table.metadata.location, table.metadataLocation]) {
      const py = JSON.parse(await runPython(['-c', METADATA_LOG_PY, opened])) as {
        location: string;
        log: string[];
        missing: string[];
        rows: number;
      };
      expect(py.location.endsWith('/v31.metadata.json')).toBe(true);
      expect(py.log.map((f) => f.slice(f.lastIndexOf('/') + 1))).toEqual(onDisk);
      expect(py.missing).toEqual([]);
      expect(py.rows).toBe(CLEAN_APPENDS);
    }
    expect(sortBy(await pyicebergRows(table.metadataLocation), 'id')).toEqual(written);
    expect(sortBy(await duckdbRows(table.metadataLocation), 'id')).toEqual(written);
  });
});

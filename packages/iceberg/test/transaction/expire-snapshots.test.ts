import { describe, expect, it } from 'vitest';
import type { Table } from '../../src/catalog/catalog.ts';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import { applyUpdates, trimSnapshotLog } from '../../src/catalog/updates.ts';
import { CommitConflictError } from '../../src/errors.ts';
import type { WriteOptions } from '../../src/io/file-io.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import type { DataFile } from '../../src/spec/manifest.ts';
import { writeManifest } from '../../src/spec/manifest-file.ts';
import { readManifestList, writeManifestList } from '../../src/spec/manifest-list.ts';
import { partitionType } from '../../src/spec/partition-spec.ts';
import type { Snapshot, SnapshotRef } from '../../src/spec/snapshot.ts';
import {
  currentSchema,
  currentSnapshot,
  newTableMetadata,
  specById,
  type TableMetadata,
} from '../../src/spec/table-metadata.ts';
import { newSnapshotId } from '../../src/transaction/append.ts';
import {
  expireSnapshots,
  maintainAfterCommit,
  snapshotsToExpire,
} from '../../src/transaction/expire-snapshots.ts';
import { mergeAppend } from '../../src/transaction/merge-append.ts';
import { appendWith, avroFiles, listedEntries, newTable, rows, schema } from './tables.ts';

// ---------------------------------------------------------------- which snapshots

const snap = (n: number, parent: number | undefined, ts: number): Snapshot => ({
  snapshotId: BigInt(n),
  ...(parent !== undefined ? { parentSnapshotId: BigInt(parent) } : {}),
  sequenceNumber: n,
  timestampMs: ts,
  manifestList: `memory://x/snap-${n}.avro`,
  summary: { operation: 'append' },
});

/** s1..s10 in a line, s_i at i × 1000 ms; main at s10; plus `extra` snapshots and refs. */
function history(
  extra: Snapshot[] = [],
  refs: Record<string, SnapshotRef> = {},
  properties: Record<string, string> = {},
): TableMetadata {
  const base = newTableMetadata({ location: 'memory://x', schema, properties });
  const line = Array.from({ length: 10 }, (_, i) =>
    snap(i + 1, i === 0 ? undefined : i, (i + 1) * 1000),
  );
  return {
    ...base,
    snapshots: [...line, ...extra],
    currentSnapshotId: 10n,
    refs: { main: { snapshotId: 10n, type: 'branch' }, ...refs },
    lastSequenceNumber: 20,
  };
}
const NOW = 100_000;
const nums = (ids: bigint[]) => ids.map(Number);

describe('snapshotsToExpire (Java RemoveSnapshots retention)', () => {
  it('expires by age, keeps at least retainLast ancestors, never the current one', () => {
    const m = history();
    // default max age is 5 days: nothing is that old
    expect(snapshotsToExpire(m, { nowMs: NOW })).toEqual([]);
    expect(nums(snapshotsToExpire(m, { nowMs: NOW, olderThanMs: 5500 }))).toEqual([1, 2, 3, 4, 5]);
    // retainLast is a minimum: newer snapshots are kept anyway
    expect(nums(snapshotsToExpire(m, { nowMs: NOW, olderThanMs: 5500, retainLast: 7 }))).toEqual([
      1, 2, 3,
    ]);
    expect(nums(snapshotsToExpire(m, { nowMs: NOW, olderThanMs: 5500, retainLast: 2 }))).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect(nums(snapshotsToExpire(m, { nowMs: NOW, olderThanMs: NOW, retainLast: 3 }))).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
    // the current snapshot survives even when everything is old
    expect(nums(snapshotsToExpire(m, { nowMs: NOW, olderThanMs: NOW }))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(() => snapshotsToExpire(m, { retainLast: 0 })).toThrow('at least 1');
  });

  it('reads history.expire.* table properties', () => {
    const m = history(
      [],
      {},
      {
        'history.expire.max-snapshot-age-ms': String(NOW - 5500),
        'history.expire.min-snapshots-to-keep': '8',
      },
    );
    expect(nums(snapshotsToExpire(m, { nowMs: NOW }))).toEqual([1, 2]);
    expect(nums(snapshotsToExpire(m, { nowMs: NOW, retainLast: 1 }))).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps tagged snapshots, branch ancestries per the branch settings, and young orphans', () => {
    const m = history([snap(11, 5, 10_500)], {
      tag: { snapshotId: 2n, type: 'tag' },
      b: { snapshotId: 4n, type: 'branch', minSnapshotsToKeep: 2 },
    });
    // main keeps s10; branch b keeps s4, s3; the tag keeps s2; s11 (on no branch) is young
    expect(nums(snapshotsToExpire(m, { nowMs: NOW, olderThanMs: 10_000, retainLast: 1 }))).toEqual([
      1, 5, 6, 7, 8, 9,
    ]);
    expect(nums(snapshotsToExpire(m, { nowMs: NOW, olderThanMs: NOW, retainLast: 1 }))).toEqual([
      1, 5, 6, 7, 8, 9, 11,
    ]);
    // a branch's own max-snapshot-age-ms overrides olderThanMs
    const aged = history([], {
      b: { snapshotId: 4n, type: 'branch', maxSnapshotAgeMs: NOW - 1500 },
    });
    expect(nums(snapshotsToExpire(aged, { nowMs: NOW, olderThanMs: NOW }))).toEqual([
      1, 5, 6, 7, 8, 9,
    ]);
  });
});

describe('remove-snapshots update', () => {
  it('trims the snapshot log like Java: history before a removed snapshot goes', () => {
    const e = (n: number) => ({ timestampMs: n * 1000, snapshotId: BigInt(n) });
    expect(trimSnapshotLog([e(1), e(2), e(3)], new Set([1n, 3n]))).toEqual([e(3)]);
    expect(trimSnapshotLog([e(1), e(2), e(3)], new Set([2n, 3n]))).toEqual([e(2), e(3)]);
    const m = { ...history(), snapshotLog: Array.from({ length: 10 }, (_, i) => e(i + 1)) };
    const next = applyUpdates(m, [{ action: 'remove-snapshots', snapshotIds: [1n, 2n, 3n] }]);
    expect(nums(next.snapshots.map((s) => s.snapshotId))).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(nums(next.snapshotLog.map((x) => x.snapshotId))).toEqual([4, 5, 6, 7, 8, 9, 10]);
  });

  it('refuses to remove the current snapshot or one a ref points at', () => {
    const m = history([], { tag: { snapshotId: 2n, type: 'tag' } });
    for (const id of [10n, 2n]) {
      expect(() => applyUpdates(m, [{ action: 'remove-snapshots', snapshotIds: [id] }])).toThrow(
        CommitConflictError,
      );
    }
  });
});

// ---------------------------------------------------------------- on real tables

async function referenced(table: Table): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of table.metadata.snapshots) {
    out.add(s.manifestList);
    for (const m of readManifestList(await table.io.read(s.manifestList))) out.add(m.manifestPath);
  }
  return out;
}

const sortedIds = (rs: Record<string, unknown>[]) =>
  rs.map((r) => Number(r.id)).sort((a, b) => a - b);

describe('expireSnapshots', () => {
  it('expires all but the last 5 of 30 merge appends and deletes only their files', async () => {
    let { table, io } = await newTable({ 'commit.manifest.min-count-to-merge': '10' });
    const files: DataFile[] = [];
    for (let k = 0; k < 30; k++) {
      const res = await appendWith(mergeAppend, table, rows(k, 1));
      table = res.table;
      files.push(...res.files);
    }
    const before = table.metadata;
    const refBefore = await referenced(table);
    const res = await expireSnapshots(table, { olderThanMs: Date.now() + 1, retainLast: 5 });
    table = res.table;
    const m = table.metadata;
    expect(res.expiredSnapshotIds).toEqual(before.snapshots.slice(0, 25).map((s) => s.snapshotId));
    expect(m.snapshots).toEqual(before.snapshots.slice(25));
    expect(m.currentSnapshotId).toBe(before.currentSnapshotId);
    expect(m.refs).toEqual(before.refs);
    expect(m.snapshotLog).toEqual(before.snapshotLog.slice(25));
    // a remove-snapshots commit adds no snapshot and does not move main
    expect(m.lastSequenceNumber).toBe(30);

    const refAfter = await referenced(table);
    expect(res.deletedManifestLists).toBe(25);
    expect(res.deletedManifests).toBe(
      [...refBefore].filter((p) => !refAfter.has(p) && !p.includes('/snap-')).length,
    );
    expect(res.deletedManifests).toBeGreaterThan(0);
    expect(res.deletedDataFiles).toBe(0);
    expect(res.cleanupError).toBeUndefined();
    for (const s of before.snapshots.slice(0, 25))
      expect(await io.exists(s.manifestList)).toBe(false);
    // exactly the files the retained snapshots reach are left
    expect(new Set(await avroFiles(table))).toEqual(refAfter);
    for (const f of files) expect(await io.exists(f.filePath)).toBe(true);
    expect(sortedIds(await scanRows(table))).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const oldest = m.snapshots[0] as Snapshot;
    expect((await scanRows(table, { snapshotId: oldest.snapshotId })).length).toBe(26);
    await expect(
      scanRows(table, { snapshotId: before.snapshots[24]?.snapshotId as bigint }),
    ).rejects.toThrow('not found');

    // Nothing left to expire: no commit.
    const again = await expireSnapshots(table, { olderThanMs: Date.now() + 1, retainLast: 5 });
    expect(again.expiredSnapshotIds).toEqual([]);
    expect(again.table.metadataLocation).toBe(table.metadataLocation);
  });

  it('leaves files alone with cleanFiles: false', async () => {
    let { table } = await newTable();
    for (let k = 0; k < 4; k++) table = (await appendWith(mergeAppend, table, rows(k, 1))).table;
    const avro = await avroFiles(table);
    const res = await expireSnapshots(table, {
      olderThanMs: Date.now() + 1,
      retainLast: 1,
      cleanFiles: false,
    });
    expect(res.expiredSnapshotIds.length).toBe(3);
    expect(res.table.metadata.snapshots.length).toBe(1);
    expect(res.deletedManifestLists + res.deletedManifests + res.deletedDataFiles).toBe(0);
    expect(await avroFiles(res.table)).toEqual(avro);
  });

  it('deletes a data file once no retained manifest names it, not before', async () => {
    let { table, io } = await newTable({ 'commit.manifest.min-count-to-merge': '2' });
    const a = await appendWith(mergeAppend, table, rows(1, 1, 'a'));
    const b = await appendWith(mergeAppend, a.table, rows(2, 1, 'b'));
    table = b.table;
    const [fileA, fileB] = [a.files[0] as DataFile, b.files[0] as DataFile];
    const [s1, s2] = table.metadata.snapshots as [Snapshot, Snapshot];

    // Snapshot 3, by hand: an overwrite that deletes A (DELETED entry) and keeps B.
    const s3 = newSnapshotId();
    const spec = specById(table.metadata, 0);
    const ptype = partitionType(spec, currentSchema(table.metadata));
    const bytes = writeManifest({
      schema: currentSchema(table.metadata),
      spec,
      partitionType: ptype,
      entries: [
        { status: 2, snapshotId: s3, sequenceNumber: 1, fileSequenceNumber: 1, dataFile: fileA },
        {
          status: 0,
          snapshotId: s2.snapshotId,
          sequenceNumber: 2,
          fileSequenceNumber: 2,
          dataFile: fileB,
        },
      ],
    });
    const manifestPath = `${table.metadata.location}/metadata/overwrite-m0.avro`;
    await io.write(manifestPath, bytes);
    const listPath = `${table.metadata.location}/metadata/snap-${s3}-overwrite.avro`;
    await io.write(
      listPath,
      writeManifestList({
        snapshotId: s3,
        parentSnapshotId: s2.snapshotId,
        sequenceNumber: 3,
        manifests: [
          {
            manifestPath,
            manifestLength: bytes.byteLength,
            partitionSpecId: 0,
            content: 0,
            sequenceNumber: 3,
            minSequenceNumber: 1,
            addedSnapshotId: s3,
            addedFilesCount: 0,
            existingFilesCount: 1,
            deletedFilesCount: 1,
            addedRowsCount: 0,
            existingRowsCount: 1,
            deletedRowsCount: 1,
            partitions: [],
          },
        ],
      }),
    );
    table = await table.catalog.commitTable(
      table.identifier,
      [],
      [
        {
          action: 'add-snapshot',
          snapshot: {
            snapshotId: s3,
            parentSnapshotId: s2.snapshotId,
            sequenceNumber: 3,
            timestampMs: Date.now(),
            manifestList: listPath,
            summary: { operation: 'overwrite' },
          },
        },
        { action: 'set-snapshot-ref', refName: 'main', ref: { snapshotId: s3, type: 'branch' } },
      ],
    );
    expect(sortedIds(await scanRows(table))).toEqual([2]);

    // Snapshot 4 merges [new, overwrite manifest]: A's old DELETED entry is dropped, B
    // stays EXISTING with its original sequence numbers.
    table = (await appendWith(mergeAppend, table, rows(3, 1, 'c'))).table;
    const s4 = currentSnapshot(table.metadata) as Snapshot;
    const entries = await listedEntries(table);
    expect(
      entries.map((e) => [
        e.raw.status,
        e.raw.snapshotId,
        e.raw.sequenceNumber,
        e.raw.dataFile.filePath === fileB.filePath ? 'B' : 'C',
      ]),
    ).toEqual([
      [1, s4.snapshotId, null, 'C'],
      [0, s2.snapshotId, 2, 'B'],
    ]);
    expect(entries[0]?.manifest).toMatchObject({ minSequenceNumber: 2, deletedFilesCount: 0 });

    // Expire s1, s2: s3's manifest still names A (as DELETED): A stays (conservative).
    const first = await expireSnapshots(table, { olderThanMs: Date.now() + 1, retainLast: 2 });
    expect(first.expiredSnapshotIds).toEqual([s1.snapshotId, s2.snapshotId]);
    expect(first.deletedDataFiles).toBe(0);
    expect(await io.exists(fileA.filePath)).toBe(true);
    // Expire s3 too: no retained manifest names A any more.
    const second = await expireSnapshots(first.table, {
      olderThanMs: Date.now() + 1,
      retainLast: 1,
    });
    expect(second.expiredSnapshotIds).toEqual([s3]);
    expect(second.deletedDataFiles).toBe(1);
    expect(await io.exists(fileA.filePath)).toBe(false);
    expect(await io.exists(fileB.filePath)).toBe(true);
    expect(new Set(await avroFiles(second.table))).toEqual(await referenced(second.table));
    expect(sortedIds(await scanRows(second.table))).toEqual([2, 3]);
  });

  it('re-plans against fresh metadata when main moved meanwhile', async () => {
    let { table } = await newTable();
    for (let k = 0; k < 3; k++) table = (await appendWith(mergeAppend, table, rows(k, 1))).table;
    const stale = table;
    table = (await appendWith(mergeAppend, table, rows(3, 1))).table;
    const res = await expireSnapshots(stale, { olderThanMs: Date.now() + 1, retainLast: 1 });
    expect(res.table.metadata.snapshots.map((s) => s.snapshotId)).toEqual([
      table.metadata.currentSnapshotId,
    ]);
    expect(res.expiredSnapshotIds.length).toBe(3);
    expect(sortedIds(await scanRows(res.table))).toEqual([0, 1, 2, 3]);
  });

  it('refuses when gc.enabled is false', async () => {
    let { table } = await newTable({ 'gc.enabled': 'false' });
    table = (await appendWith(mergeAppend, table, rows(0, 1))).table;
    await expect(expireSnapshots(table, { olderThanMs: Date.now() + 1 })).rejects.toThrow(
      'gc.enabled',
    );
    const res = await maintainAfterCommit(table, { olderThanMs: Date.now() + 1 });
    expect(res.expiredSnapshotIds).toEqual([]);
  });
});

class CountingIO extends MemoryFileIO {
  calls = 0;
  override async read(path: string): Promise<Uint8Array> {
    this.calls++;
    return super.read(path);
  }
  override async write(path: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    this.calls++;
    return super.write(path, data, options);
  }
  override async exists(path: string): Promise<boolean> {
    this.calls++;
    return super.exists(path);
  }
  override async delete(path: string): Promise<void> {
    this.calls++;
    return super.delete(path);
  }
  override async list(prefix: string): Promise<string[]> {
    this.calls++;
    return super.list(prefix);
  }
}

describe('maintainAfterCommit', () => {
  it('touches no file when nothing is due, and expires by the table properties', async () => {
    const io = new CountingIO();
    const catalog = new FilesystemCatalog({ warehouse: 'memory://wh', io });
    await catalog.createNamespace(['db']);
    let table = await catalog.createTable({ namespace: ['db'], name: 't' }, { schema });
    for (let k = 0; k < 4; k++) {
      table = (await appendWith(mergeAppend, table, rows(k, 1))).table;
      io.calls = 0;
      const res = await maintainAfterCommit(table); // 5 days, keep 1: nothing is due
      expect(res.expiredSnapshotIds).toEqual([]);
      expect(res.table).toBe(table);
      expect(io.calls).toBe(0);
    }
    table = await catalog.commitTable(
      table.identifier,
      [],
      [
        {
          action: 'set-properties',
          updates: {
            'history.expire.max-snapshot-age-ms': '0',
            'history.expire.min-snapshots-to-keep': '2',
          },
        },
      ],
    );
    const res = await maintainAfterCommit(table, { nowMs: Date.now() + 1 });
    expect(res.expiredSnapshotIds.length).toBe(2);
    expect(res.table.metadata.snapshots.length).toBe(2);
    expect(sortedIds(await scanRows(res.table))).toEqual([0, 1, 2, 3]);
    // the retain-last policy as options: keep the last one
    const last = await maintainAfterCommit(res.table, {
      olderThanMs: Date.now() + 1,
      retainLast: 1,
    });
    expect(last.table.metadata.snapshots.length).toBe(1);
    expect(last.table.metadata.currentSnapshotId).toBe(table.metadata.currentSnapshotId);
  });
});

import { describe, expect, it } from 'vitest';
import type { Table } from '../../src/catalog/catalog.ts';
import { planFiles } from '../../src/scan/planner.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import { readManifest } from '../../src/spec/manifest-file.ts';
import { readManifestList } from '../../src/spec/manifest-list.ts';
import type { Snapshot } from '../../src/spec/snapshot.ts';
import { currentSnapshot } from '../../src/spec/table-metadata.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import {
  mergeAppend,
  mergePolicyFrom,
  packEnd,
  resolveEntry,
} from '../../src/transaction/merge-append.ts';
import { appendWith, avroFiles, listedEntries, manifestList, newTable, rows } from './tables.ts';

/** Every manifest list and manifest any snapshot of the table names. */
async function referencedAvro(table: Table): Promise<Set<string>> {
  const out = new Set<string>();
  for (const s of table.metadata.snapshots) {
    out.add(s.manifestList);
    for (const m of readManifestList(await table.io.read(s.manifestList))) out.add(m.manifestPath);
  }
  return out;
}

const ids = (rs: Record<string, unknown>[]) =>
  rs.map((r) => r.id as bigint).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('packEnd (Java ListPacker, look-back 1, from the end)', () => {
  it('fills bins from the oldest item, leaving the newest bin under-filled', () => {
    expect(packEnd(['a', 'b', 'c', 'd', 'e', 'f', 'g'], () => 1, 3)).toEqual([
      ['a'],
      ['b', 'c', 'd'],
      ['e', 'f', 'g'],
    ]);
    // an item heavier than the target gets a bin of its own; order is kept
    expect(packEnd([1, 9, 1, 1], (x) => x, 3)).toEqual([[1], [9], [1, 1]]);
    expect(packEnd([], () => 1, 3)).toEqual([]);
  });

  it('reads the merge properties with Java defaults', () => {
    expect(mergePolicyFrom({})).toEqual({
      enabled: true,
      targetSizeBytes: 8 * 1024 * 1024,
      minCountToMerge: 100,
    });
    expect(
      mergePolicyFrom({
        'commit.manifest-merge.enabled': 'FALSE',
        'commit.manifest.target-size-bytes': '1024',
        'commit.manifest.min-count-to-merge': '5',
      }),
    ).toEqual({ enabled: false, targetSizeBytes: 1024, minCountToMerge: 5 });
  });
});

describe('merge append', () => {
  it('keeps the manifest list short over 250 appends and every file live exactly once', async () => {
    let { table } = await newTable({ 'commit.manifest.min-count-to-merge': '100' });
    const commitOf = new Map<string, number>(); // data file path → commit number
    const snapshots: Snapshot[] = [];
    const lengths: number[] = [];
    for (let k = 1; k <= 250; k++) {
      const res = await appendWith(mergeAppend, table, rows(2 * k, 2));
      table = res.table;
      for (const f of res.files) commitOf.set(f.filePath, k);
      snapshots.push(currentSnapshot(table.metadata) as Snapshot);
      lengths.push((await manifestList(table)).length);
    }
    // Candidates = 1 new + the parent's; the one bin (all far below 8 MiB) holds the new
    // manifest, so it is merged when it reaches 100 manifests: at commits 100 and 199.
    const expected: number[] = [];
    let len = 0;
    for (let k = 1; k <= 250; k++) {
      len = len + 1 >= 100 ? 1 : len + 1;
      expected.push(len);
    }
    expect(lengths).toEqual(expected);
    expect(Math.max(...lengths)).toBe(99);
    expect(lengths.at(-1)).toBe(52);
    const merges = snapshots
      .map((s, i) => [i + 1, s.summary['manifests-replaced']] as const)
      .filter(([, r]) => r !== '0')
      .map(([k]) => k);
    expect(merges).toEqual([100, 199]);
    expect(snapshots[99]?.summary).toMatchObject({
      'manifests-created': '1',
      'manifests-kept': '0',
      'manifests-replaced': '99',
      'added-data-files': '1',
      'total-data-files': '100',
    });
    expect(snapshots[100]?.summary).toMatchObject({
      'manifests-created': '1',
      'manifests-kept': '1',
      'manifests-replaced': '0',
    });
    expect(currentSnapshot(table.metadata)?.summary).toMatchObject({
      'total-data-files': '250',
      'total-records': '500',
    });

    // Every data file is live exactly once across the current manifests.
    const listed = await listedEntries(table);
    const live = listed.filter((e) => e.raw.status !== 2).map((e) => e.raw.dataFile.filePath);
    expect(live.length).toBe(250);
    expect(new Set(live)).toEqual(new Set(commitOf.keys()));

    // Manifest list entries agree with their manifests.
    for (const m of await manifestList(table)) {
      const es = listed.filter((e) => e.manifest.manifestPath === m.manifestPath);
      const resolved = es.map((e) => ({
        ...resolveEntry(e.raw, m),
        rows: e.raw.dataFile.recordCount,
      }));
      const count = (st: number) => resolved.filter((r) => r.status === st);
      const sumRows = (st: number) => count(st).reduce((a, r) => a + r.rows, 0);
      expect([m.addedFilesCount, m.existingFilesCount, m.deletedFilesCount]).toEqual([
        count(1).length,
        count(0).length,
        count(2).length,
      ]);
      expect([m.addedRowsCount, m.existingRowsCount, m.deletedRowsCount]).toEqual([
        sumRows(1),
        sumRows(0),
        sumRows(2),
      ]);
      expect(m.minSequenceNumber).toBe(Math.min(...resolved.map((r) => r.sequenceNumber ?? 0)));
      expect(m.partitions).toEqual([]); // unpartitioned
    }

    // The manifest merged at commit 199: entries of older commits became EXISTING with
    // their original snapshot id and sequence numbers written out; 199's own file stays ADDED.
    const merged = (await manifestList(table)).at(-1);
    const s199 = snapshots[198] as Snapshot;
    expect(merged).toMatchObject({
      addedSnapshotId: s199.snapshotId,
      sequenceNumber: 199,
      minSequenceNumber: 1,
      addedFilesCount: 1,
      existingFilesCount: 198,
      addedRowsCount: 2,
      existingRowsCount: 396,
    });
    const mergedEntries = listed.filter((e) => e.manifest.manifestPath === merged?.manifestPath);
    for (const { raw } of mergedEntries) {
      const k = commitOf.get(raw.dataFile.filePath) as number;
      if (k === 199) {
        expect([raw.status, raw.snapshotId, raw.sequenceNumber, raw.fileSequenceNumber]).toEqual([
          1,
          s199.snapshotId,
          null,
          null,
        ]);
      } else {
        expect([raw.status, raw.snapshotId, raw.sequenceNumber, raw.fileSequenceNumber]).toEqual([
          0,
          snapshots[k - 1]?.snapshotId,
          k,
          k,
        ]);
      }
    }
    // Newer manifests kept as written by their commit (ADDED, inherited).
    const newest = (await manifestList(table))[0];
    expect(newest).toMatchObject({ sequenceNumber: 250, addedFilesCount: 1 });

    // Scans: every file once, every row once; time travel still works.
    const plan = await planFiles(table);
    expect(plan.files.length).toBe(250);
    expect(new Set(plan.files.map((f) => f.filePath)).size).toBe(250);
    const all = await scanRows(table);
    expect(ids(all)).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i + 2)));
    const at150 = await scanRows(table, { snapshotId: snapshots[149]?.snapshotId as bigint });
    expect(ids(at150)).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(i + 2)));

    // New manifests that were merged were deleted; nothing else is orphaned.
    expect(new Set(await avroFiles(table))).toEqual(await referencedAvro(table));
  });

  it('merges full bins of older manifests below min-count; only the newest bin waits', async () => {
    let { table } = await newTable({ 'commit.manifest.min-count-to-merge': '100' });
    table = (await appendWith(mergeAppend, table, rows(0, 1))).table;
    const len = (await manifestList(table))[0]?.manifestLength as number;
    // Room for two one-file manifests per bin.
    await table.catalog.commitTable(
      table.identifier,
      [],
      [
        {
          action: 'set-properties',
          updates: { 'commit.manifest.target-size-bytes': String(Math.floor(len * 2.5)) },
        },
      ],
    );
    table = await table.catalog.loadTable(table.identifier);
    table = (await appendWith(mergeAppend, table, rows(1, 1))).table;
    // [new, m1]: one bin holding the new manifest, 2 < 100: kept.
    expect((await manifestList(table)).length).toBe(2);
    table = (await appendWith(mergeAppend, table, rows(2, 1))).table;
    // [new] [m2, m1]: the older full bin is merged although it has only 2 manifests.
    const list = await manifestList(table);
    expect(list.map((m) => [m.addedFilesCount, m.existingFilesCount])).toEqual([
      [1, 0],
      [0, 2],
    ]);
    expect(currentSnapshot(table.metadata)?.summary).toMatchObject({
      'manifests-created': '2',
      'manifests-kept': '0',
      'manifests-replaced': '2',
    });
    expect(ids(await scanRows(table))).toEqual([0n, 1n, 2n]);
    expect(new Set(await avroFiles(table))).toEqual(await referencedAvro(table));
  });

  it('behaves as a fast append when commit.manifest-merge.enabled=false; fastAppend never merges', async () => {
    for (const [start, props] of [
      [mergeAppend, { 'commit.manifest-merge.enabled': 'false' }],
      [fastAppend, { 'commit.manifest.min-count-to-merge': '2' }],
    ] as const) {
      let { table } = await newTable({ ...props, 'commit.manifest.min-count-to-merge': '2' });
      for (let k = 0; k < 5; k++) table = (await appendWith(start, table, rows(k, 1))).table;
      expect((await manifestList(table)).length).toBe(5);
      expect(currentSnapshot(table.metadata)?.summary).toMatchObject({
        'manifests-created': '1',
        'manifests-kept': '4',
        'manifests-replaced': '0',
      });
    }
  });

  it('redoes the merge against the refreshed parent on a conflict and leaves no orphan', async () => {
    let { table, catalog } = await newTable({ 'commit.manifest.min-count-to-merge': '3' });
    for (let k = 0; k < 2; k++) table = (await appendWith(mergeAppend, table, rows(k, 1))).table;
    // Both start from the same parent (2 manifests): each merges [new, m2, m1]; the loser
    // retries on top of the winner and merges again.
    await Promise.all([
      appendWith(mergeAppend, table, rows(10, 1)),
      appendWith(mergeAppend, table, rows(11, 1)),
    ]);
    table = await catalog.loadTable(table.identifier);
    expect(table.metadata.snapshots.length).toBe(4);
    const listed = await listedEntries(table);
    expect(listed.map((e) => e.raw.dataFile.filePath).length).toBe(4);
    expect(new Set(listed.map((e) => e.raw.dataFile.filePath)).size).toBe(4);
    expect(ids(await scanRows(table))).toEqual([0n, 1n, 10n, 11n]);
    // The loser's first-attempt merged manifest and list are gone; so are merged new manifests.
    expect(new Set(await avroFiles(table))).toEqual(await referencedAvro(table));
  });

  it('merges per partition spec and never across specs', async () => {
    let { table, catalog } = await newTable({ 'commit.manifest.min-count-to-merge': '2' });
    for (let k = 0; k < 3; k++) table = (await appendWith(mergeAppend, table, rows(k, 1))).table;
    expect(
      (await manifestList(table)).map((m) => [m.partitionSpecId, m.existingFilesCount]),
    ).toEqual([[0, 2]]);
    await catalog.commitTable(
      table.identifier,
      [],
      [
        {
          action: 'add-spec',
          spec: {
            specId: 1,
            fields: [{ sourceId: 2, fieldId: 1000, name: 'cat', transform: 'identity' }],
          },
        },
        { action: 'set-default-spec', specId: 1 },
      ],
    );
    table = await catalog.loadTable(table.identifier);
    table = (await appendWith(mergeAppend, table, rows(10, 1, 'x'))).table;
    expect((await manifestList(table)).map((m) => m.partitionSpecId)).toEqual([1, 0]);
    table = (await appendWith(mergeAppend, table, rows(11, 1, 'y'))).table;
    const list = await manifestList(table);
    expect(list.map((m) => [m.partitionSpecId, m.addedFilesCount, m.existingFilesCount])).toEqual([
      [1, 1, 1],
      [0, 1, 2],
    ]);
    // The spec-1 merged manifest carries partition summaries over both files.
    const summary = list[0]?.partitions?.[0];
    expect(summary?.containsNull).toBe(false);
    expect(Buffer.from(summary?.lowerBound as Uint8Array).toString()).toBe('x');
    expect(Buffer.from(summary?.upperBound as Uint8Array).toString()).toBe('y');
    const entries = readManifest(await table.io.read(list[0]?.manifestPath as string)).entries;
    expect(entries.map((e) => [e.status, e.dataFile.partition])).toEqual([
      [1, ['y']],
      [0, ['x']],
    ]);
    expect(ids(await scanRows(table))).toEqual([0n, 1n, 2n, 10n, 11n]);
  });
});

import {
  currentSnapshot,
  type DataFile,
  expireSnapshots,
  FilesystemCatalog,
  fastAppend,
  MemoryFileIO,
  readManifest,
  readManifestList,
  schemaFromJson,
} from '@kice/iceberg';
import { describe, expect, it } from 'vitest';
import { Committer, DEFAULT_TABLE_PROPERTIES } from '../../src/commit/committer.ts';
import { checkContinuity, readOffsets, writeOffsets } from '../../src/commit/offsets.ts';
import { type PartitionByEntry, parsePartitionBy } from '../../src/config/partition-by.ts';

const observed = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 7, name: 'id', required: false, type: 'long' },
    { id: 9, name: 'ts', required: false, type: 'timestamptz' },
  ],
});

function setup() {
  const io = new MemoryFileIO();
  const catalog = new FilesystemCatalog({ warehouse: 'memory://wh', io });
  return { io, catalog, committer: new Committer(catalog, 'g1') };
}

const file = (path: string, rows: number): DataFile => ({
  content: 0,
  filePath: path,
  fileFormat: 'PARQUET',
  specId: 0,
  partition: [],
  recordCount: rows,
  fileSizeInBytes: 100,
});

describe('offsets', () => {
  it('round-trips the summary property, sorted', () => {
    const m = new Map([
      ['b:1', 5n],
      ['a:10', 2n ** 62n],
      ['a:2', 0n],
    ]);
    const text = writeOffsets(m);
    expect(text).toBe('{"a":{"2":"0","10":"4611686018427387904"},"b":{"1":"5"}}');
    expect(readOffsets({ 'kice.offsets.g': text }, 'g')).toEqual(m);
    expect(readOffsets({ 'kice.offsets.other': text }, 'g').size).toBe(0);
  });

  it('accepts continuing ranges and names duplicates and gaps', () => {
    const recorded = new Map([['t:0', 100n]]);
    expect(checkContinuity(recorded, [{ topic: 't', partition: 0, from: 100n, to: 150n }])).toEqual(
      {
        ok: true,
        next: new Map([['t:0', 150n]]),
      },
    );
    expect(checkContinuity(recorded, [{ topic: 't', partition: 1, from: 7n, to: 9n }])).toEqual({
      ok: true,
      next: new Map([
        ['t:0', 100n],
        ['t:1', 9n],
      ]),
    });
    expect(checkContinuity(recorded, [{ topic: 't', partition: 0, from: 50n, to: 100n }])).toEqual({
      ok: false,
      kind: 'duplicate',
      reason: "t:0: range [50, 100) does not start at the table's recorded offset 100 (duplicate)",
    });
    expect(
      checkContinuity(recorded, [{ topic: 't', partition: 0, from: 120n, to: 130n }]),
    ).toMatchObject({
      ok: false,
      kind: 'gap',
    });
  });
});

describe('Committer', () => {
  const day = parsePartitionBy('day(ts)') as PartitionByEntry;

  it('creates the table with fresh ids and the configured partition spec', async () => {
    const { committer } = setup();
    const state = await committer.ensureTable(
      { table: 'ns.events', partitionBy: [day], properties: { a: 'b' } },
      observed,
    );
    expect(state.schema.fields.map((f) => [f.id, f.name, f.type])).toEqual([
      [1, 'id', 'long'],
      [2, 'ts', 'timestamptz'],
    ]);
    expect(state.spec.fields).toEqual([
      { sourceId: 2, fieldId: 1000, name: 'ts_day', transform: 'day' },
    ]);
    expect(state.offsets).toEqual([]);
  });

  it('names a partition column missing from the data', async () => {
    const { committer } = setup();
    const bad = parsePartitionBy('bucket(4, user)') as PartitionByEntry;
    await expect(
      committer.ensureTable({ table: 'ns.e', partitionBy: [bad], properties: {} }, observed),
    ).rejects.toThrow('table ns.e: partitionBy column "user" is not in the data (columns: id, ts)');
  });

  it('evolves the schema with new columns and keeps existing ids', async () => {
    const { committer } = setup();
    await committer.ensureTable({ table: 'ns.e', partitionBy: [], properties: {} }, observed);
    const more = schemaFromJson({
      type: 'struct',
      fields: [
        { id: 1, name: 'id', required: false, type: 'long' },
        {
          id: 50,
          name: 'extra',
          required: false,
          type: {
            type: 'struct',
            fields: [{ id: 51, name: 'x', required: false, type: 'string' }],
          },
        },
      ],
    });
    const state = await committer.ensureTable(
      { table: 'ns.e', partitionBy: [], properties: {} },
      more,
    );
    expect(state.schema.schemaId).toBe(1);
    expect(state.schema.fields.map((f) => [f.id, f.name])).toEqual([
      [1, 'id'],
      [2, 'ts'],
      [3, 'extra'],
    ]);
  });

  it('commits offsets with the files, and refuses duplicates and gaps without committing', async () => {
    const { committer, catalog } = setup();
    await committer.ensureTable({ table: 'ns.e', partitionBy: [], properties: {} }, observed);
    const r1 = await committer.append(
      'ns.e',
      [file('memory://wh/ns/e/data/a.parquet', 10)],
      [{ topic: 't', partition: 0, from: 0n, to: 10n }],
    );
    expect(r1).toMatchObject({ status: 'committed', offsets: [['t:0', '10']] });
    const dup = await committer.append(
      'ns.e',
      [file('memory://wh/ns/e/data/b.parquet', 10)],
      [{ topic: 't', partition: 0, from: 0n, to: 10n }],
    );
    expect(dup).toEqual({
      status: 'refused',
      kind: 'duplicate',
      reason: "t:0: range [0, 10) does not start at the table's recorded offset 10 (duplicate)",
    });
    const gap = await committer.append(
      'ns.e',
      [],
      [{ topic: 't', partition: 0, from: 11n, to: 12n }],
    );
    expect(gap).toMatchObject({ status: 'refused', kind: 'gap' });
    const r2 = await committer.append(
      'ns.e',
      [],
      [
        { topic: 't', partition: 0, from: 10n, to: 12n },
        { topic: 't', partition: 1, from: 0n, to: 3n },
      ],
    );
    expect(r2).toMatchObject({
      status: 'committed',
      offsets: [
        ['t:0', '12'],
        ['t:1', '3'],
      ],
    });
    const t = await catalog.loadTable({ namespace: ['ns'], name: 'e' });
    expect(t.metadata.snapshots.length).toBe(2);
    expect(currentSnapshot(t.metadata)?.summary['kice.offsets.g1']).toBe(
      '{"t":{"0":"12","1":"3"}}',
    );
    expect(currentSnapshot(t.metadata)?.summary['total-records']).toBe('10');
    expect((await committer.tableState('ns.e'))?.offsets).toEqual([
      ['t:0', '12'],
      ['t:1', '3'],
    ]);
  });

  it('deleteFiles never deletes a file the current snapshot references', async () => {
    // A commit whose success was reported as a conflict is retried, refused as a duplicate
    // of itself, and its files handed to deleteFiles: they are in the table, so they stay.
    const { committer, io } = setup();
    await committer.ensureTable({ table: 'ns.d', partitionBy: [], properties: {} }, observed);
    const committed = 'memory://wh/ns/d/data/a.parquet';
    const orphan = 'memory://wh/ns/d/data/b.parquet';
    await io.write(committed, new Uint8Array(100));
    await io.write(orphan, new Uint8Array(100));
    await committer.append(
      'ns.d',
      [file(committed, 10)],
      [{ topic: 't', partition: 0, from: 0n, to: 10n }],
    );
    await committer.deleteFiles('ns.d', [committed, orphan]);
    expect(await io.exists(committed)).toBe(true);
    expect(await io.exists(orphan)).toBe(false);
  });

  it('merges manifests and expires old snapshots as it commits, losing no file', async () => {
    const io = new MemoryFileIO();
    const catalog = new FilesystemCatalog({ warehouse: 'memory://wh', io });
    const committer = new Committer(catalog, 'g1', 0); // maintenance after every commit
    await committer.ensureTable(
      {
        table: 'ns.m',
        partitionBy: [],
        properties: {
          'commit.manifest.min-count-to-merge': '4',
          'history.expire.max-snapshot-age-ms': '1',
          'history.expire.min-snapshots-to-keep': '2',
        },
      },
      observed,
    );
    let expired = 0;
    for (let k = 0; k < 12; k++) {
      await new Promise((r) => setTimeout(r, 3)); // older than max-snapshot-age-ms
      const r = await committer.append(
        'ns.m',
        [file(`memory://wh/ns/m/data/f${k}.parquet`, 1)],
        [{ topic: 't', partition: 0, from: BigInt(k), to: BigInt(k + 1) }],
      );
      expect(r).toMatchObject({ status: 'committed', offsets: [['t:0', String(k + 1)]] });
      if (r.status === 'committed') {
        expect(r.maintenanceError).toBeUndefined();
        expired += r.expired ?? 0;
      }
    }
    const t = await catalog.loadTable({ namespace: ['ns'], name: 'm' });
    // 12 snapshots made, the newest 2 kept.
    expect(expired).toBe(10);
    expect(t.metadata.snapshots).toHaveLength(2);
    const snap = currentSnapshot(t.metadata);
    expect(snap?.summary['total-records']).toBe('12');
    expect(snap?.summary['kice.offsets.g1']).toBe('{"t":{"0":"12"}}');
    // Merged: fewer manifests than commits, and every file listed exactly once.
    const manifests = readManifestList(await io.read(snap?.manifestList as string));
    expect(manifests.length).toBeLessThan(4);
    const paths: string[] = [];
    for (const m of manifests) {
      for (const e of readManifest(await io.read(m.manifestPath)).entries)
        if (e.status !== 2) paths.push(e.dataFile.filePath);
    }
    expect(paths.sort()).toEqual(
      Array.from({ length: 12 }, (_, k) => `memory://wh/ns/m/data/f${k}.parquet`).sort(),
    );
    // Tables kice creates clean up after themselves by default.
    expect(t.metadata.properties).toMatchObject({
      'write.metadata.delete-after-commit.enabled': 'true',
      'history.expire.max-snapshot-age-ms': '1',
    });
    expect(DEFAULT_TABLE_PROPERTIES['history.expire.max-snapshot-age-ms']).toBe('21600000');
  });
});

describe('Committer: offsets through the snapshot ancestry', () => {
  const plain = { partitionBy: [], properties: {} };
  const id = { namespace: ['ns'], name: 'e' };

  /** A snapshot by another writer: a plain append from @kice/iceberg, no kice property. */
  async function foreignAppend(catalog: FilesystemCatalog, path: string): Promise<void> {
    const t = await catalog.loadTable(id);
    await fastAppend(t).appendFile(file(path, 5)).set('writer', 'someone-else').commit();
  }

  it('finds the offsets below a foreign snapshot and continues exactly from them', async () => {
    const { committer, catalog } = setup();
    await committer.ensureTable({ table: 'ns.e', ...plain }, observed);
    await committer.append(
      'ns.e',
      [file('memory://wh/ns/e/data/a.parquet', 10)],
      [{ topic: 't', partition: 0, from: 0n, to: 10n }],
    );
    await foreignAppend(catalog, 'memory://wh/ns/e/data/foreign.parquet');
    const t = await catalog.loadTable(id);
    expect(currentSnapshot(t.metadata)?.summary['kice.offsets.g1']).toBeUndefined();

    expect((await committer.tableState('ns.e'))?.offsets).toEqual([['t:0', '10']]);
    // The continuity check sees the same offsets: a replay is a duplicate ...
    expect(
      await committer.append(
        'ns.e',
        [file('memory://wh/ns/e/data/b.parquet', 10)],
        [{ topic: 't', partition: 0, from: 0n, to: 10n }],
      ),
    ).toEqual({
      status: 'refused',
      kind: 'duplicate',
      reason: "t:0: range [0, 10) does not start at the table's recorded offset 10 (duplicate)",
    });
    // ... and the next range continues exactly.
    expect(
      await committer.append(
        'ns.e',
        [file('memory://wh/ns/e/data/c.parquet', 2)],
        [{ topic: 't', partition: 0, from: 10n, to: 12n }],
      ),
    ).toMatchObject({ status: 'committed', offsets: [['t:0', '12']] });
    const after = await catalog.loadTable(id);
    expect(currentSnapshot(after.metadata)?.summary['kice.offsets.g1']).toBe('{"t":{"0":"12"}}');
    expect(currentSnapshot(after.metadata)?.summary['total-records']).toBe('17');
  });

  it("carries every group's offsets forward, so that expiry keeps them", async () => {
    const { committer, catalog } = setup();
    const other = new Committer(catalog, 'g2');
    await committer.ensureTable({ table: 'ns.e', ...plain }, observed);
    await committer.append('ns.e', [], [{ topic: 't', partition: 0, from: 0n, to: 10n }]);
    await other.append('ns.e', [], [{ topic: 'u', partition: 3, from: 5n, to: 8n }]);
    let t = await catalog.loadTable(id);
    expect(currentSnapshot(t.metadata)?.summary).toMatchObject({
      'kice.offsets.g1': '{"t":{"0":"10"}}',
      'kice.offsets.g2': '{"u":{"3":"8"}}',
    });
    // A foreign snapshot, then g1 again: g2's property comes along from below the foreign one.
    await foreignAppend(catalog, 'memory://wh/ns/e/data/foreign.parquet');
    await committer.append('ns.e', [], [{ topic: 't', partition: 0, from: 10n, to: 11n }]);
    t = await catalog.loadTable(id);
    expect(currentSnapshot(t.metadata)?.summary).toMatchObject({
      'kice.offsets.g1': '{"t":{"0":"11"}}',
      'kice.offsets.g2': '{"u":{"3":"8"}}',
    });
    // Only the current snapshot survives expiry: both groups still find their offsets.
    const r = await expireSnapshots(t, { olderThanMs: Date.now() + 1, retainLast: 1 });
    expect(r.table.metadata.snapshots).toHaveLength(1);
    expect((await committer.tableState('ns.e'))?.offsets).toEqual([['t:0', '11']]);
    expect((await other.tableState('ns.e'))?.offsets).toEqual([['u:3', '8']]);
    expect(
      await other.append('ns.e', [], [{ topic: 'u', partition: 3, from: 7n, to: 9n }]),
    ).toMatchObject({ status: 'refused', kind: 'duplicate' });
  });

  it('reads the main branch only: a snapshot of another branch is not used', async () => {
    const { committer, catalog } = setup();
    await committer.ensureTable({ table: 'ns.e', ...plain }, observed);
    await committer.append('ns.e', [], [{ topic: 't', partition: 0, from: 0n, to: 10n }]);
    // A branch off kice's snapshot, whose head claims later offsets for the group.
    let t = await catalog.loadTable(id);
    const base = currentSnapshot(t.metadata);
    if (!base) throw new Error('no snapshot');
    const branchHead = {
      ...base,
      snapshotId: base.snapshotId + 1n,
      parentSnapshotId: base.snapshotId,
      sequenceNumber: t.metadata.lastSequenceNumber + 1,
      timestampMs: base.timestampMs + 1,
      summary: { operation: 'append', 'kice.offsets.g1': '{"t":{"0":"99"}}' },
    };
    await catalog.commitTable(
      id,
      [],
      [
        { action: 'add-snapshot', snapshot: branchHead },
        {
          action: 'set-snapshot-ref',
          refName: 'audit',
          ref: { snapshotId: branchHead.snapshotId, type: 'branch' },
        },
      ],
    );
    // And a foreign snapshot on main, so the current snapshot carries no offsets.
    await foreignAppend(catalog, 'memory://wh/ns/e/data/foreign.parquet');
    t = await catalog.loadTable(id);
    expect(t.metadata.refs.audit?.snapshotId).toBe(branchHead.snapshotId);
    expect((await committer.tableState('ns.e'))?.offsets).toEqual([['t:0', '10']]);
    expect(
      await committer.append('ns.e', [], [{ topic: 't', partition: 0, from: 10n, to: 20n }]),
    ).toMatchObject({ status: 'committed', offsets: [['t:0', '20']] });
  });
});

describe('Committer: when expiry has removed every snapshot that carried the offsets', () => {
  it('reports no offsets and a truncated history', async () => {
    const { committer, catalog } = setup();
    const id = { namespace: ['ns'], name: 'e' };
    await committer.ensureTable({ table: 'ns.e', partitionBy: [], properties: {} }, observed);
    expect(await committer.tableState('ns.e')).toMatchObject({
      offsets: [],
      historyTruncated: false,
    });
    await committer.append('ns.e', [], [{ topic: 't', partition: 0, from: 0n, to: 10n }]);
    const kice = currentSnapshot((await catalog.loadTable(id)).metadata);
    expect(await committer.tableState('ns.e')).toMatchObject({
      offsets: [['t:0', '10']],
      offsetsSnapshotId: String(kice?.snapshotId),
      historyTruncated: false,
    });
    const t = await catalog.loadTable(id);
    await fastAppend(t).appendFile(file('memory://wh/ns/e/data/f.parquet', 1)).commit();
    await expireSnapshots(await catalog.loadTable(id), {
      olderThanMs: Date.now() + 1,
      retainLast: 1,
    });
    const state = await committer.tableState('ns.e');
    expect(state).toMatchObject({ offsets: [], historyTruncated: true });
    expect(state?.offsetsSnapshotId).toBeUndefined();
  });
});

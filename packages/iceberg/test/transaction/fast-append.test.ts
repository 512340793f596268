import { describe, expect, it } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import type { Table } from '../../src/catalog/catalog.ts';
import type { CommitObserver } from '../../src/catalog/commit-steps.ts';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { and, eq, gtEq, isNull, lt } from '../../src/scan/expressions.ts';
import { planFiles } from '../../src/scan/planner.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import { readManifest } from '../../src/spec/manifest-file.ts';
import { readManifestList } from '../../src/spec/manifest-list.ts';
import { partitionType } from '../../src/spec/partition-spec.ts';
import { currentSchema, currentSnapshot, specById } from '../../src/spec/table-metadata.ts';
import { schemaFromJson } from '../../src/spec/types.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import { writePartitioned } from '../../src/writer/fanout.ts';

const schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'ts', required: false, type: 'timestamptz' },
    { id: 3, name: 'name', required: false, type: 'string' },
  ],
});
const DAY_US = 86_400_000_000n;

async function setup(partitioned: boolean) {
  const io = new MemoryFileIO();
  const cat = new FilesystemCatalog({ warehouse: 'memory://wh', io });
  await cat.createNamespace(['db']);
  const spec = partitioned
    ? { specId: 0, fields: [{ sourceId: 2, fieldId: 1000, name: 'ts_day', transform: 'day' }] }
    : undefined;
  const table = await cat.createTable(
    { namespace: ['db'], name: 't' },
    { schema, ...(spec ? { spec } : {}) },
  );
  return { io, cat, table };
}

async function append(
  table: Table,
  rows: Record<string, unknown>[],
  props: Record<string, string> = {},
) {
  const s = currentSchema(table.metadata);
  const files = await writePartitioned(table.io, {
    schema: s,
    spec: specById(table.metadata, table.metadata.defaultSpecId),
    table: icebergRowsToArrow(s, rows),
    dataLocation: `${table.metadata.location}/data`,
  });
  const op = fastAppend(table);
  for (const f of files) op.appendFile(f);
  for (const [k, v] of Object.entries(props)) op.set(k, v);
  return op.commit();
}

const row = (id: number, day: number, name: string | null) => ({
  id: BigInt(id),
  ts: BigInt(day) * DAY_US + 5n,
  name,
});

describe('fast append + scan', () => {
  it('appends, keeps the history, sums the summary and reads every row back', async () => {
    let { table } = await setup(false);
    table = await append(table, [row(1, 0, 'a'), row(2, 0, 'b')], {
      'kice.offsets.g': '{"t":{"0":"2"}}',
    });
    const first = currentSnapshot(table.metadata);
    table = await append(table, [row(3, 1, null)]);
    const snap = currentSnapshot(table.metadata);
    expect(snap?.parentSnapshotId).toBe(first?.snapshotId);
    expect(snap?.sequenceNumber).toBe(2);
    expect(table.metadata.lastSequenceNumber).toBe(2);
    expect(snap?.summary).toMatchObject({
      operation: 'append',
      'added-data-files': '1',
      'added-records': '1',
      'total-records': '3',
      'total-data-files': '2',
      'total-delete-files': '0',
      'manifests-created': '1',
      'manifests-kept': '1',
    });
    expect(first?.summary['kice.offsets.g']).toBe('{"t":{"0":"2"}}');
    expect(table.metadata.refs.main).toEqual({ snapshotId: snap?.snapshotId, type: 'branch' });
    expect(table.metadata.snapshotLog.map((e) => e.snapshotId)).toEqual([
      first?.snapshotId,
      snap?.snapshotId,
    ]);

    const list = readManifestList(await table.io.read(snap?.manifestList as string));
    expect(list.map((m) => [m.sequenceNumber, m.addedFilesCount, m.addedRowsCount])).toEqual([
      [2, 1, 1],
      [1, 1, 2],
    ]);
    const entries = readManifest(await table.io.read(list[0]?.manifestPath as string)).entries;
    expect(entries.map((e) => [e.status, e.snapshotId, e.sequenceNumber])).toEqual([
      [1, snap?.snapshotId, null],
    ]);

    const rows = (await scanRows(table)).sort((a, b) =>
      Number((a.id as bigint) - (b.id as bigint)),
    );
    expect(rows).toEqual([row(1, 0, 'a'), row(2, 0, 'b'), row(3, 1, null)]);
    // time travel to the first snapshot
    expect((await scanRows(table, { snapshotId: first?.snapshotId as bigint })).length).toBe(2);
    expect((await scanRows(table, { asOfTimestampMs: first?.timestampMs as number })).length).toBe(
      2,
    );
  });

  it('prunes by partition and by column bounds, and filters rows exactly', async () => {
    let { table } = await setup(true);
    table = await append(table, [row(1, 0, 'a'), row(2, 1, 'b'), row(3, 2, 'c')]);
    table = await append(table, [row(4, 2, null), row(5, 3, 'e')]);
    const all = await planFiles(table);
    expect(all.totalFiles).toBe(5);
    expect(all.files.length).toBe(5);
    const ptype = partitionType(specById(table.metadata, 0), currentSchema(table.metadata));
    expect(ptype.fields.map((f) => [f.id, f.name, f.type])).toEqual([[1000, 'ts_day', 'date']]);

    const day2 = await planFiles(table, {
      filter: and(gtEq('ts', 2n * DAY_US), lt('ts', 3n * DAY_US)),
    });
    expect(day2.files.map((f) => f.partition)).toEqual([[2], [2]]);
    const byId = await planFiles(table, { filter: eq('id', 5n) });
    expect(byId.files.length).toBe(1);
    expect(byId.files[0]?.partition).toEqual([3]);
    const nulls = await planFiles(table, { filter: isNull('name') });
    expect(nulls.files.length).toBe(1);
    expect((await scanRows(table, { filter: isNull('name') })).map((r) => r.id)).toEqual([4n]);
    await expect(planFiles(table, { filter: eq('nope', 1) })).rejects.toThrow(
      'filter references unknown column "nope"',
    );
  });

  it('retries on a conflicting commit and refuses when validation fails', async () => {
    const { cat, table } = await setup(false);
    // Two appends from the same base: the second must refresh and retry, not overwrite.
    const [a, b] = await Promise.all([
      append(table, [row(1, 0, 'a')]),
      append(table, [row(2, 0, 'b')]),
    ]);
    expect([a, b].some(Boolean)).toBe(true);
    const loaded = await cat.loadTable(table.identifier);
    expect(loaded.metadata.snapshots.length).toBe(2);
    expect(currentSnapshot(loaded.metadata)?.summary['total-records']).toBe('2');
    const op = fastAppend(loaded).validate(() => {
      throw new Error('offsets moved');
    });
    await expect(op.commit()).rejects.toThrow('offsets moved');
    expect((await cat.loadTable(table.identifier)).metadata.snapshots.length).toBe(2);
  });
});

describe('commit steps and attempts', () => {
  it('tells an observer each step in order, and counts the attempts of a retried commit', async () => {
    const io = new MemoryFileIO();
    const seen: string[] = [];
    const hint = async () =>
      new TextDecoder().decode(await io.read('memory://wh/db/t/metadata/version-hint.text'));
    const observer: CommitObserver = async (e) => {
      seen.push(
        `${e.step} ${e.path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, '<uuid>')} hint=${await hint()}`,
      );
    };
    const cat = new FilesystemCatalog({ warehouse: 'memory://wh', io, observer });
    await cat.createNamespace(['db']);
    const table = await cat.createTable({ namespace: ['db'], name: 't' }, { schema });
    const files = await writePartitioned(io, {
      schema,
      spec: specById(table.metadata, 0),
      table: icebergRowsToArrow(schema, [row(1, 0, 'a')]),
      dataLocation: 'memory://wh/db/t/data',
    });
    // Someone else commits first: `op` was built on the stale base and must retry once.
    await append(table, [row(2, 0, 'b')]);
    seen.length = 0;
    const op = fastAppend(table).observe(observer);
    for (const f of files) op.appendFile(f);
    expect(op.attempts).toBe(0);
    const committed = await op.commit();
    expect(op.attempts).toBe(2);
    const id = currentSnapshot(committed.metadata)?.snapshotId;
    expect(seen).toEqual([
      'manifests memory://wh/db/t/metadata/<uuid>-m0.avro hint=2',
      // The first attempt's manifest list, then the conflict, then the second attempt's.
      `manifest-list memory://wh/db/t/metadata/snap-${id}-1-<uuid>.avro hint=2`,
      `manifest-list memory://wh/db/t/metadata/snap-${id}-2-<uuid>.avro hint=2`,
      'metadata memory://wh/db/t/metadata/v3.metadata.json hint=2',
      'version-hint memory://wh/db/t/metadata/version-hint.text hint=3',
    ]);
  });
});

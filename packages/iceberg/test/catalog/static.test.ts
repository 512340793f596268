import { describe, expect, it } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import type { Table } from '../../src/catalog/catalog.ts';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import { metadataFileVersion, nextMetadataLocation, openTable } from '../../src/catalog/static.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import { tableMetadataFromJson } from '../../src/spec/table-metadata.ts';
import { schemaFromJson } from '../../src/spec/types.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import { writePartitioned } from '../../src/writer/fanout.ts';

const schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [{ id: 1, name: 'id', required: true, type: 'long' }],
});

const UUID_NAME = /^memory:\/\/wh\/db\/t\/metadata\/(\d{5})-[0-9a-f-]{36}\.metadata\.json$/;

async function append(table: Table, ids: bigint[]): Promise<Table> {
  const files = await writePartitioned(table.io, {
    schema,
    spec: { specId: 0, fields: [] },
    table: icebergRowsToArrow(
      schema,
      ids.map((id) => ({ id })),
    ),
    dataLocation: `${table.metadata.location}/data`,
  });
  const op = fastAppend(table);
  for (const f of files) op.appendFile(f);
  return op.commit();
}

async function hadoopTable() {
  const io = new MemoryFileIO();
  const cat = new FilesystemCatalog({ warehouse: 'memory://wh', io });
  await cat.createNamespace(['db']);
  const created = await cat.createTable({ namespace: ['db'], name: 't' }, { schema });
  const t = await append(created, [1n]);
  return { io, t };
}

describe('metadata file names', () => {
  it.each([
    ['s3://b/t/metadata/00012-0d6d3c1a-aaaa-bbbb-cccc-000000000000.metadata.json', 12],
    ['file:///t/metadata/v7.metadata.json', 7],
    ['/t/metadata/00000-x.metadata.json', 0],
    ['/t/metadata/table.json', -1],
    ['/t/metadata/v7.json', -1],
  ])('metadataFileVersion(%s) = %i', (loc, v) => {
    expect(metadataFileVersion(loc)).toBe(v);
  });

  it('nextMetadataLocation is the next version, zero-padded to 5, in the same folder', () => {
    expect(nextMetadataLocation('file:///t/metadata/00012-a.metadata.json', 'u')).toBe(
      'file:///t/metadata/00013-u.metadata.json',
    );
    expect(nextMetadataLocation('/t/metadata/v99999.metadata.json', 'u')).toBe(
      '/t/metadata/100000-u.metadata.json',
    );
    expect(nextMetadataLocation('/t/m/table.json', 'u')).toBe('/t/m/00000-u.metadata.json');
  });
});

describe('openTable', () => {
  it('opens a table at its metadata file and reads it', async () => {
    const { io, t } = await hadoopTable();
    const opened = await openTable(io, t.metadataLocation);
    expect(opened.metadataLocation).toBe('memory://wh/db/t/metadata/v2.metadata.json');
    expect(opened.identifier).toEqual({ namespace: [], name: 't' });
    expect(opened.metadata).toEqual(t.metadata);
    expect(await scanRows(opened)).toEqual([{ id: 1n }]);
    expect(await opened.catalog.tableExists(opened.identifier)).toBe(true);
  });

  it('commits write NNNNN-<uuid>.metadata.json beside the current file, chained', async () => {
    const { io, t } = await hadoopTable();
    const opened = await openTable(io, t.metadataLocation);
    const a = await append(opened, [2n, 3n]);
    const b = await append(a, [4n]);
    expect(UUID_NAME.exec(a.metadataLocation)?.[1]).toBe('00003');
    expect(UUID_NAME.exec(b.metadataLocation)?.[1]).toBe('00004');
    // What is on storage is what the commit returned.
    const stored = tableMetadataFromJson(
      new TextDecoder().decode(await io.read(b.metadataLocation)),
    );
    expect(stored).toEqual(b.metadata);
    expect(b.metadata.metadataLog.map((e) => e.metadataFile)).toEqual([
      'memory://wh/db/t/metadata/v1.metadata.json',
      'memory://wh/db/t/metadata/v2.metadata.json',
      a.metadataLocation,
    ]);
    expect(b.metadata.snapshots.map((s) => s.sequenceNumber)).toEqual([1, 2, 3]);
    expect(b.metadata.snapshots[2]?.parentSnapshotId).toBe(a.metadata.currentSnapshotId);
    expect(b.metadata.snapshots[2]?.summary['total-records']).toBe('4');
    expect((await scanRows(b)).map((r) => r.id).sort()).toEqual([1n, 2n, 3n, 4n]);
    expect((await b.catalog.loadTable(b.identifier)).metadataLocation).toBe(b.metadataLocation);
    // The Hadoop layout's files are untouched: v2 is still the hint's table.
    expect(
      new TextDecoder().decode(await io.read('memory://wh/db/t/metadata/version-hint.text')),
    ).toBe('2');
  });

  it('a stale table conflicts on its first attempt, then retries on the current file', async () => {
    const { io, t } = await hadoopTable();
    const stale = await openTable(io, t.metadataLocation);
    const fresh = await append(stale, [2n]);
    const after = await append(stale, [3n]);
    expect(UUID_NAME.exec(after.metadataLocation)?.[1]).toBe('00004');
    expect(after.metadata.snapshots.at(-1)?.parentSnapshotId).toBe(
      fresh.metadata.currentSnapshotId,
    );
    expect((await scanRows(after)).map((r) => r.id).sort()).toEqual([1n, 2n, 3n]);
  });

  it('checks requirements before writing anything', async () => {
    const { io, t } = await hadoopTable();
    const opened = await openTable(io, t.metadataLocation);
    const before = [...io.files.keys()];
    await expect(
      opened.catalog.commitTable(
        opened.identifier,
        [{ type: 'assert-table-uuid', uuid: '00000000-0000-0000-0000-000000000000' }],
        [{ action: 'set-properties', updates: { a: '1' } }],
      ),
    ).rejects.toMatchObject({ code: 'REQUIREMENT_FAILED' });
    await expect(
      opened.catalog.commitTable(
        opened.identifier,
        [{ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: null }],
        [{ action: 'set-properties', updates: { a: '1' } }],
      ),
    ).rejects.toMatchObject({ code: 'COMMIT_CONFLICT', retryable: true });
    expect([...io.files.keys()]).toEqual(before);
  });

  it('names the missing file, and refuses catalog-wide operations', async () => {
    const io = new MemoryFileIO();
    await expect(openTable(io, 'memory://x/metadata/v1.metadata.json')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'file not found: memory://x/metadata/v1.metadata.json',
    });
    const { t } = await hadoopTable();
    const opened = await openTable(t.io, t.metadataLocation);
    await expect(opened.catalog.listTables([])).rejects.toThrow(
      'a table opened from a metadata file has no table listing',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import { CommitConflictError } from '../../src/errors.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { schemaFromJson } from '../../src/spec/types.ts';

const schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [{ id: 1, name: 'id', required: true, type: 'long' }],
});

function catalog() {
  const io = new MemoryFileIO();
  return { io, cat: new FilesystemCatalog({ warehouse: 'memory://wh', io }) };
}

describe('FilesystemCatalog', () => {
  it('creates namespaces and tables in the Hadoop layout', async () => {
    const { io, cat } = catalog();
    await cat.createNamespace(['db']);
    await cat.createNamespace(['db']); // idempotent
    const t = await cat.createTable({ namespace: ['db'], name: 'events' }, { schema });
    expect(t.metadataLocation).toBe('memory://wh/db/events/metadata/v1.metadata.json');
    expect(
      new TextDecoder().decode(await io.read('memory://wh/db/events/metadata/version-hint.text')),
    ).toBe('1');
    expect(await cat.listNamespaces()).toEqual([['db']]);
    expect(await cat.listTables(['db'])).toEqual([{ namespace: ['db'], name: 'events' }]);
    expect(t.metadata.location).toBe('memory://wh/db/events');
    expect(t.metadata.currentSnapshotId).toBeNull();
  });

  it('refuses a table in a missing namespace and a duplicate table', async () => {
    const { cat } = catalog();
    await expect(cat.createTable({ namespace: ['nope'], name: 't' }, { schema })).rejects.toThrow(
      'namespace does not exist: nope',
    );
    await cat.createNamespace(['db']);
    await cat.createTable({ namespace: ['db'], name: 't' }, { schema });
    await expect(cat.createTable({ namespace: ['db'], name: 't' }, { schema })).rejects.toThrow(
      'table already exists: db.t',
    );
  });

  it('gives exactly one of two racing commits the version, the other a retryable conflict', async () => {
    const { cat } = catalog();
    await cat.createNamespace(['db']);
    const id = { namespace: ['db'], name: 't' };
    await cat.createTable(id, { schema });
    const results = await Promise.allSettled([
      cat.commitTable(id, [], [{ action: 'set-properties', updates: { a: '1' } }]),
      cat.commitTable(id, [], [{ action: 'set-properties', updates: { b: '2' } }]),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(ok).toHaveLength(1);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.reason).toBeInstanceOf(CommitConflictError);
    expect(failed[0]?.reason).toHaveProperty('retryable', true);
    const loaded = await cat.loadTable(id);
    expect(loaded.metadataLocation).toBe('memory://wh/db/t/metadata/v2.metadata.json');
    expect(loaded.metadata.metadataLog.map((e) => e.metadataFile)).toEqual([
      'memory://wh/db/t/metadata/v1.metadata.json',
    ]);
  });

  it('probes forward past a stale version hint', async () => {
    const { io, cat } = catalog();
    await cat.createNamespace(['db']);
    const id = { namespace: ['db'], name: 't' };
    await cat.createTable(id, { schema });
    await cat.commitTable(id, [], [{ action: 'set-properties', updates: { a: '1' } }]);
    await io.write('memory://wh/db/t/metadata/version-hint.text', new TextEncoder().encode('1'));
    const t = await cat.loadTable(id);
    expect(t.metadataLocation).toBe('memory://wh/db/t/metadata/v2.metadata.json');
    expect(t.metadata.properties.a).toBe('1');
  });

  it('rewrites a hint it finds behind (a writer died between its metadata file and the hint)', async () => {
    const { io, cat } = catalog();
    const hint = async () =>
      new TextDecoder().decode(await io.read('memory://wh/db/t/metadata/version-hint.text'));
    await cat.createNamespace(['db']);
    const id = { namespace: ['db'], name: 't' };
    await cat.createTable(id, { schema });
    await cat.commitTable(id, [], [{ action: 'set-properties', updates: { a: '1' } }]);
    await cat.commitTable(id, [], [{ action: 'set-properties', updates: { a: '2' } }]);
    await io.write('memory://wh/db/t/metadata/version-hint.text', new TextEncoder().encode('1'));
    expect((await cat.loadTable(id)).metadata.properties.a).toBe('2');
    expect(await hint()).toBe('3');
    // A missing hint is written too.
    await io.delete('memory://wh/db/t/metadata/version-hint.text');
    expect((await cat.loadTable(id)).metadataLocation).toBe(
      'memory://wh/db/t/metadata/v3.metadata.json',
    );
    expect(await hint()).toBe('3');
  });

  it('checks requirements against the current metadata', async () => {
    const { cat } = catalog();
    await cat.createNamespace(['db']);
    const id = { namespace: ['db'], name: 't' };
    await cat.createTable(id, { schema });
    await expect(
      cat.commitTable(id, [{ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: 5n }], []),
    ).rejects.toThrow('requirement failed: branch main is at no snapshot, expected 5');
  });

  it('re-parses a metadata file rewritten under the same name (drop and re-create)', async () => {
    const { cat } = catalog();
    await cat.createNamespace(['db']);
    const id = { namespace: ['db'], name: 't' };
    const first = await cat.createTable(id, { schema, properties: { v: 'first' } });
    expect((await cat.loadTable(id)).metadata.tableUuid).toBe(first.metadata.tableUuid);
    await cat.dropTable(id);
    const second = await cat.createTable(id, { schema, properties: { v: 'second' } });
    const loaded = await cat.loadTable(id);
    expect(loaded.metadataLocation).toBe(first.metadataLocation);
    expect(loaded.metadata.tableUuid).toBe(second.metadata.tableUuid);
    expect(loaded.metadata.properties).toEqual({ v: 'second' });
    // a second catalog (another process) sees the same
    const other = new FilesystemCatalog({ warehouse: 'memory://wh', io: cat.io });
    expect((await other.loadTable(id)).metadata).toEqual(loaded.metadata);
  });

  it('drops tables', async () => {
    const { cat } = catalog();
    await cat.createNamespace(['db']);
    const id = { namespace: ['db'], name: 't' };
    await cat.createTable(id, { schema });
    await cat.dropTable(id, true);
    expect(await cat.tableExists(id)).toBe(false);
    await expect(cat.loadTable(id)).rejects.toThrow('table does not exist: db.t');
  });
});

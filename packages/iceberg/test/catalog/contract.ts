/**
 * The catalog contract: one set of tests that every Catalog implementation passes
 * (filesystem over memory IO in ./filesystem-contract.test.ts, the REST catalog against
 * Apache Iceberg's REST server in test/integration/rest-catalog.integration.test.ts).
 * `make()` returns a catalog and a namespace prefix no other run uses, so that a shared
 * server's earlier state cannot affect the assertions.
 */
import { expect, it } from 'vitest';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalog.ts';
import { CommitConflictError, NotFoundError } from '../../src/errors.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import { currentSnapshot } from '../../src/spec/table-metadata.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import { appendWith, rows, schema } from '../transaction/tables.ts';

export interface ContractTarget {
  readonly catalog: Catalog;
  /** A namespace name unique to this run, e.g. `c_<random>`. */
  readonly ns: string;
}

export function catalogContract(make: () => Promise<ContractTarget>): void {
  it('creates, finds and lists namespaces (create is idempotent)', async () => {
    const { catalog, ns } = await make();
    expect(await catalog.namespaceExists([ns])).toBe(false);
    await catalog.createNamespace([ns]);
    await catalog.createNamespace([ns]);
    expect(await catalog.namespaceExists([ns])).toBe(true);
    expect(await catalog.listNamespaces()).toContainEqual([ns]);
  });

  it('creates, loads, lists, finds and drops tables', async () => {
    const { catalog, ns } = await make();
    await catalog.createNamespace([ns]);
    const a: TableIdentifier = { namespace: [ns], name: 'a' };
    const b: TableIdentifier = { namespace: [ns], name: 'b' };
    const created = await catalog.createTable(a, { schema, properties: { 'x.y': 'z' } });
    await catalog.createTable(b, { schema });
    expect(created.metadata.currentSnapshotId).toBeNull();
    expect(created.metadata.properties['x.y']).toBe('z');
    const loaded = await catalog.loadTable(a);
    expect(loaded.metadata.tableUuid).toBe(created.metadata.tableUuid);
    expect(loaded.metadata.schemas[0]?.fields.map((f) => f.name)).toEqual(['id', 'cat']);
    expect(await catalog.listTables([ns])).toEqual([a, b]);
    expect(await catalog.tableExists(a)).toBe(true);
    await catalog.dropTable(a, true);
    expect(await catalog.tableExists(a)).toBe(false);
    expect(await catalog.listTables([ns])).toEqual([b]);
    await expect(catalog.loadTable(a)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('commits updates whose requirements hold and refuses stale ones as a conflict', async () => {
    const { catalog, ns } = await make();
    await catalog.createNamespace([ns]);
    const id: TableIdentifier = { namespace: [ns], name: 't' };
    const t = await catalog.createTable(id, { schema });
    const after = await catalog.commitTable(
      id,
      [
        { type: 'assert-table-uuid', uuid: t.metadata.tableUuid },
        { type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: null },
      ],
      [{ action: 'set-properties', updates: { owner: 'kice' } }],
    );
    expect(after.metadata.properties.owner).toBe('kice');
    expect((await catalog.loadTable(id)).metadata.properties.owner).toBe('kice');
    const appended = await appendWith(fastAppend, after, rows(0, 3));
    const stale = catalog.commitTable(
      id,
      [{ type: 'assert-ref-snapshot-id', ref: 'main', snapshotId: null }],
      [{ action: 'set-properties', updates: { owner: 'other' } }],
    );
    await expect(stale).rejects.toBeInstanceOf(CommitConflictError);
    await expect(stale).rejects.toHaveProperty('retryable', true);
    const now = await catalog.loadTable(id);
    expect(now.metadata.properties.owner).toBe('kice');
    expect(now.metadata.currentSnapshotId).toBe(appended.table.metadata.currentSnapshotId);
  });

  it('lands every one of several concurrent appends exactly once through the retry', async () => {
    const { catalog, ns } = await make();
    await catalog.createNamespace([ns]);
    const id: TableIdentifier = { namespace: [ns], name: 'c' };
    const base = await catalog.createTable(id, { schema });
    // Each writer starts from the same (empty) base: all but one must conflict and retry.
    await Promise.all([0, 1, 2, 3].map((w) => appendWith(fastAppend, base, rows(w * 10, 10))));
    const t = await catalog.loadTable(id);
    expect(t.metadata.snapshots).toHaveLength(4);
    expect(currentSnapshot(t.metadata)?.summary['total-records']).toBe('40');
    const ids = (await scanRows(t)).map((r) => r.id as bigint).sort((x, y) => Number(x - y));
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
  });
}

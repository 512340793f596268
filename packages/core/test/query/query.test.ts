import { type Catalog, FIELD_ID_KEY, type Schema, type Table } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { TableBuffer } from '../../src/pipeline/table-buffer.ts';
import { runQuery } from '../../src/query/query.ts';

const schema: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [{ id: 1, name: 'id', required: false, type: 'long' }],
};

function ipcOf(ids: bigint[]): Uint8Array {
  const s = new arrow.Schema([
    new arrow.Field('id', new arrow.Int64(), true, new Map([[FIELD_ID_KEY, '1']])),
  ]);
  return arrow.tableToIPC(
    new arrow.Table(s, { id: arrow.vectorFromArray(ids, new arrow.Int64()) }),
    'stream',
  );
}

/** A table read while it has no snapshot yet (the commit below lands just after the read). */
const unsnapshotted = {
  metadata: { currentSnapshotId: null, currentSchemaId: 0, schemas: [schema], snapshots: [] },
} as unknown as Table;

describe('runQuery', () => {
  it('lists the hot batches before reading S: a commit landing just after the read misses nothing', async () => {
    const buffer = new TableBuffer();
    buffer.push({ topic: 't', partition: 0, from: 0n, to: 3n, ipc: ipcOf([0n, 1n, 2n]), rows: 3 });
    const { batches: drained } = buffer.drain(); // a flush is under way
    buffer.push({ topic: 't', partition: 0, from: 3n, to: 5n, ipc: ipcOf([3n, 4n]), rows: 2 });
    // The catalog read returns S (no snapshot yet); the flush's commit is acknowledged
    // right after it, and its batches leave the view.
    const catalog = {
      loadTable: async () => {
        buffer.settle(drained);
        return unsnapshotted;
      },
    } as unknown as Catalog;
    const r = await runQuery(
      {
        catalog: () => catalog,
        groupId: 'g',
        capture: () => ({
          view: buffer.view(),
          owned: [{ topic: 't', partition: 0, start: 0n }],
          observed: schema,
        }),
      },
      'db.t',
    );
    const t = await r.toTable();
    expect(Array.from({ length: t.numRows }, (_, i) => t.getChild('id')?.get(i))).toEqual([
      0n,
      1n,
      2n,
      3n,
      4n,
    ]);
    expect(r.snapshotId).toBeNull();
    expect(r.hot).toEqual({ partitions: [{ topic: 't', partition: 0, fromOffset: '0' }] });
  });

  it('refuses an unknown table and a bad limit, naming them', async () => {
    const deps = {
      catalog: () => ({}) as Catalog,
      groupId: 'g',
      capture: () => undefined,
    };
    await expect(runQuery(deps, 'db.nope')).rejects.toMatchObject({
      code: 'QUERY_INVALID',
      message: 'query: unknown table "db.nope" (no configured topic routes to it)',
    });
    await expect(runQuery(deps, 'db.nope', { limit: -1 })).rejects.toThrow(
      'query db.nope: limit must be a non-negative integer, got -1',
    );
  });
});

import { describe, expect, test } from 'vitest';
import type { Table } from '../../src/catalog/catalog.ts';
import { coldScan, collectTable } from '../../src/scan/cold-scan.ts';
import { eq, gt, isNull, notNull } from '../../src/scan/expressions.ts';
import { arrowTableToRows } from '../../src/scan/read-parquet.ts';
import { currentSchema } from '../../src/spec/table-metadata.ts';
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';
import { append, tableOf } from './cold-scan-support.ts';

const v0: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'int' },
    { id: 2, name: 'name', required: false, type: 'string' },
    {
      id: 3,
      name: 's',
      required: false,
      type: { type: 'struct', fields: [{ id: 5, name: 'x', required: false, type: 'float' }] },
    },
    { id: 4, name: 'gone', required: false, type: 'string' },
  ],
});

/** v0 with: id int → long, name renamed label, s.x float → double, s.y added, extra
 * added, gone dropped, and the columns reordered. */
const v1: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 1,
  fields: [
    { id: 7, name: 'extra', required: false, type: 'decimal(12, 2)' },
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'label', required: false, type: 'string' },
    {
      id: 3,
      name: 's',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 6, name: 'y', required: false, type: 'string' },
          { id: 5, name: 'x', required: false, type: 'double' },
        ],
      },
    },
  ],
});

async function rowsOf(table: Table, options: Parameters<typeof coldScan>[1]) {
  const scan = await coldScan(table, options);
  return {
    rows: arrowTableToRows(scan.schema, await collectTable(scan.arrowSchema, scan.batches())),
    scan,
  };
}

const setup = (async () => {
  const { io, catalog, table: t0 } = await tableOf(v0);
  // The catalog assigns fresh ids (top level first): v0's ids are those.
  expect(currentSchema(t0.metadata)).toEqual(v0);
  const { table: t1 } = await append(
    t0,
    Array.from({ length: 6 }, (_, i) => ({
      id: i,
      name: i % 2 ? `n${i}` : null,
      s: i === 4 ? null : { x: i + 0.5 },
      gone: 'old',
    })),
    3,
  );
  const first = t1.metadata.currentSnapshotId as bigint;
  const evolved = await catalog.commitTable(
    { namespace: ['db'], name: 't' },
    [],
    [
      { action: 'add-schema', schema: v1 },
      { action: 'set-current-schema', schemaId: 1 },
    ],
  );
  const { table } = await append(
    evolved,
    [
      { extra: 150n, id: 10n, label: 'new', s: { y: 'why', x: 2.25 } },
      { extra: null, id: 11n, label: null, s: null },
    ],
    3,
  );
  return { io, table, first };
})();

const OLD = [0, 1, 2, 3, 4, 5].map((i) => ({
  extra: null,
  id: BigInt(i),
  label: i % 2 ? `n${i}` : null,
  s: i === 4 ? null : { y: null, x: i + 0.5 },
}));
const NEW = [
  { extra: 150n, id: 10n, label: 'new', s: { y: 'why', x: 2.25 } },
  { extra: null, id: 11n, label: null, s: null },
];

describe('coldScan reads an evolved table by field id', () => {
  test('old files read renamed, promoted, added and reordered columns', async () => {
    const { table } = await setup;
    const { rows, scan } = await rowsOf(table, {});
    // Plan order: the newest manifest (the second append) first.
    expect(scan.plan.tasks.map((t) => t.file.recordCount)).toEqual([2, 6]);
    expect(rows).toEqual([...NEW, ...OLD]);
  });

  test('filters on renamed, promoted and added columns', async () => {
    const { table } = await setup;
    expect((await rowsOf(table, { filter: eq('label', 'n3') })).rows).toEqual([OLD[3]]);
    expect((await rowsOf(table, { filter: gt('id', 4n) })).rows).toEqual([...NEW, OLD[5]]);
    expect((await rowsOf(table, { filter: gt('s.x', 3.5) })).rows).toEqual([OLD[5]]);
    expect((await rowsOf(table, { filter: isNull('s.y') })).rows).toEqual([NEW[1], ...OLD]);
    const added = await rowsOf(table, { filter: notNull('extra'), select: ['id'] });
    expect(added.rows).toEqual([{ id: 10n }]);
    // The old file has no `extra` column: both of its row groups are skipped unread.
    expect(added.scan.stats).toMatchObject({ rowGroupsSkipped: 2, rowGroupsRead: 1 });
  });

  test('time travel reads the old snapshot with its own schema', async () => {
    const { table, first } = await setup;
    const { rows, scan } = await rowsOf(table, { snapshotId: first, filter: eq('name', 'n1') });
    expect(scan.schema.schemaId).toBe(0);
    expect(rows).toEqual([{ id: 1, name: 'n1', s: { x: 1.5 }, gone: 'old' }]);
    const asOf = table.metadata.snapshots.find((s) => s.snapshotId === first)?.timestampMs;
    const byTime = await rowsOf(table, { asOfTimestampMs: asOf as number, select: ['id'] });
    expect(byTime.rows).toEqual([0, 1, 2, 3, 4, 5].map((id) => ({ id })));
    await expect(coldScan(table, { snapshotId: 42n })).rejects.toThrow('snapshot 42 not found');
  });
});

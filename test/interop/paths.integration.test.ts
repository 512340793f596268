/**
 * Paths with characters URIs escape. Iceberg readers take the text after `file://`
 * literally (no percent-decoding), and kice's writer URL-encodes partition values into
 * folder names (`cat=%C3%BC%2F%C3%B6`), so `%` appears in real folder names. Here:
 *
 * - kice writes a table partitioned by identity(cat) whose values hold spaces, '/', '%',
 *   '+', '=', '?', '#', '&', non-ASCII, the empty string, the text "null" and null, into a
 *   warehouse folder whose own name holds a space, '%' and non-ASCII; given once as a bare
 *   path and once as a file:// URI. PyIceberg and DuckDB read every row; kice's partition
 *   pruning finds each value.
 * - PyIceberg writes such a table; kice reads it, appends to it (openTable), and PyIceberg
 *   and DuckDB read both writers' rows.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eq,
  FilesystemCatalog,
  isNull,
  LocalFileIO,
  openTable,
  partitionSpecFromJson,
  planFiles,
  type Row,
  scanRows,
  schemaFromJson,
  schemaToJson,
  type Table,
  toFileUri,
} from '@kice/iceberg';
import { afterAll, describe, expect, it } from 'vitest';
import { duckdbRows, pyicebergRows, pyicebergWrite, sortBy } from '../support/readers.ts';
import { appendRows } from './helpers.ts';

const CATS: readonly (string | null)[] = [
  'a b',
  'ü/ö',
  '100%',
  '%25',
  '%C3%BC',
  'x+y=z?#&',
  '日本 語',
  '',
  'null',
  null,
];

const schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'cat', required: false, type: 'string' },
  ],
});
const spec = partitionSpecFromJson({
  'spec-id': 0,
  fields: [{ 'source-id': 2, 'field-id': 1000, name: 'cat', transform: 'identity' }],
});

/** Two rows per partition value, ids from `first`. */
const rowsFrom = (first: number): Row[] =>
  CATS.flatMap((cat, k) => [
    { id: BigInt(first + 2 * k), cat },
    { id: BigInt(first + 2 * k + 1), cat },
  ]);

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

async function expectKiceFindsEachValue(table: Table, rows: readonly Row[]): Promise<void> {
  const all = await planFiles(table);
  for (const cat of CATS) {
    const filter = cat === null ? isNull('cat') : eq('cat', cat);
    const plan = await planFiles(table, { filter });
    expect(plan.files.length).toBeGreaterThan(0);
    expect(plan.files.length).toBeLessThan(all.files.length);
    expect(sortBy(await scanRows(table, { filter }), 'id')).toEqual(
      rows.filter((r) => r.cat === cat),
    );
  }
}

describe.each([
  ['a bare path', (dir: string) => dir],
  ['a file:// URI', (dir: string) => toFileUri(dir)],
])('kice writes partition folders with escaped characters (warehouse as %s)', (_, asWarehouse) => {
  it('PyIceberg and DuckDB read every row; kice prunes to each value', async () => {
    const root = await tempDir('kice-paths-');
    const dir = join(root, 'wh 100% ü');
    const io = new LocalFileIO();
    const catalog = new FilesystemCatalog({ warehouse: asWarehouse(dir), io });
    await catalog.createNamespace(['db']);
    let table = await catalog.createTable({ namespace: ['db'], name: 't' }, { schema, spec });
    const rows = rowsFrom(1);
    table = (await appendRows(table, rows)).table;
    table = (await appendRows(table, rowsFrom(1001))).table;
    const written = sortBy([...rows, ...rowsFrom(1001)], 'id');

    // One folder per value, named by its URL-encoded text, literally.
    expect((await readdir(join(dir, 'db/t/data'))).sort()).toEqual(
      [
        'cat=',
        'cat=%2525',
        'cat=%25C3%25BC',
        'cat=100%25',
        'cat=a%20b',
        'cat=null',
        'cat=x%2By%3Dz%3F%23%26',
        'cat=%C3%BC%2F%C3%B6',
        'cat=%E6%97%A5%E6%9C%AC%20%E8%AA%9E',
      ].sort(),
    );
    expect(sortBy(await pyicebergRows(table.metadataLocation), 'id')).toEqual(written);
    expect(sortBy(await duckdbRows(table.metadataLocation), 'id')).toEqual(written);
    expect(sortBy(await scanRows(table), 'id')).toEqual(written);
    await expectKiceFindsEachValue(table, written);
  });
});

describe('PyIceberg writes such partition values; kice reads and appends', () => {
  it('PyIceberg and DuckDB read both writers’ rows', async () => {
    const warehouse = await tempDir('kice-paths-py-');
    const pyRows = rowsFrom(1);
    const res = await pyicebergWrite(warehouse, 'db.paths', {
      schema: schemaToJson(schema) as object,
      partitionSpec: {
        fields: [{ 'source-id': 2, 'field-id': 1000, name: 'cat', transform: 'identity' }],
      },
      appends: [pyRows],
    });
    let table = await openTable(new LocalFileIO(), res.metadataLocation);
    expect(sortBy(await scanRows(table), 'id')).toEqual(pyRows);
    await expectKiceFindsEachValue(table, pyRows);

    const kiceRows = rowsFrom(1001);
    table = (await appendRows(table, kiceRows)).table;
    const all = [...pyRows, ...kiceRows];
    expect(sortBy(await pyicebergRows(table.metadataLocation), 'id')).toEqual(all);
    expect(sortBy(await duckdbRows(table.metadataLocation), 'id')).toEqual(all);
    expect(sortBy(await scanRows(table), 'id')).toEqual(all);
    await expectKiceFindsEachValue(table, all);
  });
});

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import { LocalFileIO, toFileUri, toLocalPath } from '../../src/io/local.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import { partitionSpecFromJson } from '../../src/spec/partition-spec.ts';
import { schemaFromJson } from '../../src/spec/types.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import { writePartitioned } from '../../src/writer/fanout.ts';

describe('toLocalPath / toFileUri take the path after file:// literally', () => {
  test.each([
    ['file:///a/b', '/a/b'],
    ['file:/a/b', '/a/b'],
    ['/a/b', '/a/b'],
    ['file:///t/data/cat=%C3%BC%2F%C3%B6/x.parquet', '/t/data/cat=%C3%BC%2F%C3%B6/x.parquet'],
    ['file:///t/a b/ü%/x', '/t/a b/ü%/x'],
  ])('toLocalPath(%s) = %s', (uri, path) => {
    expect(toLocalPath(uri)).toBe(path);
  });

  test.each(['file://host/a', 'relative/a', 's3://b/k', 'memory://x/y'])(
    'toLocalPath(%s) throws INVALID_ARGUMENT',
    (uri) => {
      expect(() => toLocalPath(uri)).toThrow(`not a local path: ${uri}`);
    },
  );

  test('toFileUri prepends file:// without encoding, passes URIs through', () => {
    expect(toFileUri('/t/a b/cat=%C3%BC%2F%C3%B6')).toBe('file:///t/a b/cat=%C3%BC%2F%C3%B6');
    expect(toFileUri('file:/x%20y')).toBe('file:/x%20y');
    expect(toFileUri('rel/x')).toBe(`file://${resolve('rel/x')}`);
    expect(toLocalPath(toFileUri('/t/%25/ü'))).toBe('/t/%25/ü');
  });
});

describe('LocalFileIO keeps % sequences as literal folder names', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'kice-local-io-'));
    dirs.push(d);
    return d;
  };

  test('write / read / exists / list round-trip a file:// path with %2F, %25 and spaces', async () => {
    const dir = await tmp();
    const io = new LocalFileIO();
    const uri = `file://${dir}/a b/k=%C3%BC%2F%25/f.bin`;
    await io.write(uri, new Uint8Array([1, 2, 3]));
    expect(await readdir(join(dir, 'a b'))).toEqual(['k=%C3%BC%2F%25']);
    expect(await io.read(uri)).toEqual(new Uint8Array([1, 2, 3]));
    expect(await io.exists(uri)).toBe(true);
    expect(await io.exists(`file://${dir}/a b/k=ü/%/f.bin`)).toBe(false);
    expect(await io.list(`file://${dir}/`)).toEqual([uri]);
    expect(await io.list(`${dir}/`)).toEqual([`${dir}/a b/k=%C3%BC%2F%25/f.bin`]);
  });

  test('catalog, partitioned writer and scan agree on partition folders', async () => {
    const dir = await tmp();
    const io = new LocalFileIO();
    const catalog = new FilesystemCatalog({ warehouse: `file://${dir}/wh 1`, io });
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
    await catalog.createNamespace(['db']);
    let table = await catalog.createTable({ namespace: ['db'], name: 't' }, { schema, spec });
    const rows = [
      { id: 1n, cat: 'ü/ö' },
      { id: 2n, cat: '100% a b' },
    ];
    const files = await writePartitioned(io, {
      schema,
      spec,
      table: icebergRowsToArrow(schema, rows),
      dataLocation: `${table.metadata.location}/data`,
    });
    const op = fastAppend(table);
    for (const f of files) op.appendFile(f);
    table = await op.commit();
    expect(files.map((f) => f.filePath.slice(0, f.filePath.lastIndexOf('/')))).toEqual([
      `file://${dir}/wh 1/db/t/data/cat=%C3%BC%2F%C3%B6`,
      `file://${dir}/wh 1/db/t/data/cat=100%25%20a%20b`,
    ]);
    expect((await readdir(join(dir, 'wh 1/db/t/data'))).sort()).toEqual([
      'cat=%C3%BC%2F%C3%B6',
      'cat=100%25%20a%20b',
    ]);
    expect(await catalog.listTables(['db'])).toEqual([{ namespace: ['db'], name: 't' }]);
    const reloaded = await catalog.loadTable({ namespace: ['db'], name: 't' });
    expect(reloaded.metadataLocation).toBe(`file://${dir}/wh 1/db/t/metadata/v2.metadata.json`);
    const read = await scanRows(reloaded);
    expect(read.sort((a, b) => Number(a.id) - Number(b.id))).toEqual(rows);
  });
});

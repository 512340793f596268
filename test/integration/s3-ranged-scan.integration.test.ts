/**
 * A projected scan of a table on the real S3 server (test/infra/s3.sh) reads its data file
 * by ranges: every GET of the Parquet file carries a Range header, the bytes asked for are
 * a small part of the file (1 of 10 columns + footer), and the rows equal a whole-file
 * read. A point filter reads only the chunks of the row groups statistics keep, and the
 * other output columns only where the filter matched. Requests are observed through the proxy in test/support (a rule that never fires
 * records each request it is asked about).
 */
import {
  arrowTableToRows,
  coldScan,
  collectTable,
  eq,
  FilesystemCatalog,
  fastAppend,
  icebergRowsToArrow,
  readParquet,
  S3FileIO,
  scanRows,
  schemaFromJson,
  writePartitioned,
} from '@kice/iceberg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFooter, TAIL_BYTES } from '../../packages/iceberg/src/scan/ranged-read.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { makeBucket, s3TestOptions, startS3 } from '../support/s3.ts';

let endpoint: string;
let proxy: FaultProxy;
beforeAll(async () => {
  endpoint = await startS3();
  proxy = await startFaultProxy(endpoint);
});
afterAll(() => proxy?.close());

const schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: Array.from({ length: 10 }, (_, k) => ({
    id: k + 1,
    name: `c${k}`,
    required: false,
    type: 'string',
  })),
});
const data = Array.from({ length: 4000 }, (_, i) => {
  const row: Record<string, unknown> = {};
  for (let k = 0; k < 10; k++)
    row[`c${k}`] = `${k}-${i}-`.padEnd(48, String.fromCharCode(97 + ((i + k) % 26)));
  return row;
});

it('a scan of 1 of 10 columns issues only ranged GETs of the data file', async () => {
  const bucket = await makeBucket(endpoint, 'ranged');
  const io = new S3FileIO(s3TestOptions(proxy.endpoint));
  try {
    const catalog = new FilesystemCatalog({ warehouse: `s3://${bucket}/wh`, io });
    await catalog.createNamespace(['db']);
    const created = await catalog.createTable({ namespace: ['db'], name: 't' }, { schema });
    const files = await writePartitioned(io, {
      schema,
      spec: created.metadata.partitionSpecs[0] as (typeof created.metadata.partitionSpecs)[0],
      table: icebergRowsToArrow(schema, data),
      dataLocation: `${created.metadata.location}/data`,
      compression: 'uncompressed',
    });
    const op = fastAppend(created);
    for (const f of files) op.appendFile(f);
    const table = await op.commit();
    const [file] = files;
    if (!file || files.length !== 1) throw new Error(`expected one data file, got ${files.length}`);
    const key = new URL(file.filePath).pathname;

    const gets: { url: string; range: string | undefined }[] = [];
    proxy.setRules([
      {
        rate: 0,
        fault: '500',
        match: (req) => {
          if (req.method === 'GET' && (req.url ?? '').startsWith(`/${bucket}${key}`))
            gets.push({ url: req.url ?? '', range: req.headers.range });
          return false;
        },
      },
    ]);
    const got = await scanRows(table, { select: ['c7'] });
    proxy.setRules([]);

    const whole = arrowTableToRows(schema, readParquet(await io.read(file.filePath)));
    expect(got).toEqual(whole.map((r) => ({ c7: r.c7 })));
    expect(got[3999]).toEqual({ c7: data[3999]?.c7 });

    expect(gets.length).toBeGreaterThanOrEqual(2);
    const lengths = gets.map((g) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(g.range ?? '');
      if (!m) throw new Error(`GET without a byte range: ${g.url} (${g.range})`);
      return Number(m[2]) - Number(m[1]) + 1;
    });
    const asked = lengths.reduce((a, b) => a + b, 0);
    console.log(`S3 ranged scan: ${gets.length} GETs, ${asked} of ${file.fileSizeInBytes} bytes`);
    expect(asked).toBeLessThan(file.fileSizeInBytes / 4);
  } finally {
    io.destroy();
  }
});

it('a point filter on S3 reads only the chunks of the row groups its statistics keep', async () => {
  const bucket = await makeBucket(endpoint, 'point');
  const io = new S3FileIO(s3TestOptions(proxy.endpoint));
  try {
    const catalog = new FilesystemCatalog({ warehouse: `s3://${bucket}/wh`, io });
    await catalog.createNamespace(['db']);
    const created = await catalog.createTable({ namespace: ['db'], name: 't' }, { schema });
    const files = await writePartitioned(io, {
      schema,
      spec: created.metadata.partitionSpecs[0] as (typeof created.metadata.partitionSpecs)[0],
      table: icebergRowsToArrow(schema, data),
      dataLocation: `${created.metadata.location}/data`,
      compression: 'uncompressed',
      rowGroupSize: 500,
    });
    const op = fastAppend(created);
    for (const f of files) op.appendFile(f);
    const table = await op.commit();
    const [file] = files;
    if (!file || files.length !== 1) throw new Error(`expected one data file, got ${files.length}`);
    const key = new URL(file.filePath).pathname;
    const { meta } = await readFooter(io, file.filePath, file.fileSizeInBytes);

    const ranges: [number, number][] = [];
    proxy.setRules([
      {
        rate: 0,
        fault: '500',
        match: (req) => {
          if (req.method === 'GET' && (req.url ?? '').startsWith(`/${bucket}${key}`)) {
            const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
            if (!m) throw new Error(`GET without a byte range: ${req.url}`);
            ranges.push([Number(m[1]), Number(m[2]) + 1]);
          }
          return false;
        },
      },
    ]);
    // c9 of row i is "9-<i>-…": row groups are 500 rows, so min/max keep row group 6
    // (3000..3499) and row group 0 ("9-0-…" .. "9-499-…" spans "9-3210-…" as a string).
    const scan = await coldScan(table, { filter: eq('c9', data[3210]?.c9), select: ['c3'] });
    const got = await collectTable(scan.arrowSchema, scan.batches());
    proxy.setRules([]);
    expect(got.toArray().map((r) => r.toJSON())).toEqual([{ c3: data[3210]?.c3 }]);

    const tailStart = file.fileSizeInBytes - TAIL_BYTES;
    const touched = new Set<string>();
    for (const [start, end] of ranges) {
      if (start >= tailStart) continue;
      meta.rowGroups.forEach((rg, g) => {
        for (const c of rg.columns)
          if (start < c.start + c.length && c.start < end) touched.add(`${g}:${c.path.join('.')}`);
      });
    }
    expect([...touched].sort()).toEqual(['0:c9', '6:c3', '6:c9']);
    expect(scan.stats).toMatchObject({
      rowGroupsTotal: 8,
      rowGroupsRead: 2,
      rowGroupsLateSkipped: 1,
    });
  } finally {
    io.destroy();
  }
});

/**
 * A projected scan of a table on the real S3 server (test/infra/s3.sh) reads its data file
 * by ranges: every GET of the Parquet file carries a Range header, the bytes asked for are
 * a small part of the file (1 of 10 columns + footer), and the rows equal a whole-file
 * read. Requests are observed through the proxy in test/support (a rule that never fires
 * records each request it is asked about).
 */
import {
  arrowTableToRows,
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

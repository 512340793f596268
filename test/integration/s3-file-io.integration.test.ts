/**
 * S3FileIO against the real S3 server from test/infra/s3.sh (moto), one fresh bucket per
 * test: whole and ranged reads, paginated listing, batched and recursive deletes,
 * create-if-absent under a race, multipart uploads of several parts (nothing left in
 * ListMultipartUploads), and — through the fault-injecting proxy in test/support — retries
 * that ride out 500/503/connection resets, lost answers of conditional writes, aborts on
 * failure and the error an exhausted budget gives (key + S3 error code). The Parquet
 * data-file writer streams its output into a multipart upload (and aborts it on failure).
 * A filesystem catalog on an s3:// warehouse gives exactly one of racing commits the
 * next version (If-None-Match on vN.metadata.json).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  AlreadyExistsError,
  arrowTableToRows,
  CommitConflictError,
  FilesystemCatalog,
  IcebergError,
  icebergRowsToArrow,
  MemoryFileIO,
  NotFoundError,
  readParquet,
  S3FileIO,
  schemaFromJson,
  writeDataFile,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { makeBucket, s3TestClient, s3TestOptions, startS3 } from '../support/s3.ts';

const MiB = 1024 * 1024;
let endpoint: string;
let raw: S3Client;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const text = (s: string) => new TextEncoder().encode(s);

async function openUploads(bucket: string): Promise<number> {
  const r = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return r.Uploads?.length ?? 0;
}

beforeAll(async () => {
  endpoint = await startS3();
  raw = s3TestClient(endpoint);
});
afterAll(() => raw?.destroy());

describe('S3FileIO on the real server', () => {
  it('writes, reads whole and ranged, checks existence; a missing key is NotFoundError', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO(s3TestOptions(endpoint));
    const path = `s3://${bucket}/a/b/c.bin`;
    const data = bytes(100_000, 1);
    await io.write(path, data);
    expect(sha(await io.read(path))).toBe(sha(data));
    expect(await io.readRange(path, 99_992, 8)).toEqual(data.subarray(99_992));
    expect(await io.readRange(path, 10, 5)).toEqual(data.subarray(10, 15));
    expect(await io.readRange(path, 99_998, 100)).toEqual(data.subarray(99_998));
    expect(await io.readRange(path, 200_000, 4)).toEqual(new Uint8Array(0));
    expect(await io.exists(path)).toBe(true);
    expect(await io.exists(`s3://${bucket}/a/b`)).toBe(false);
    await expect(io.read(`s3://${bucket}/nope`)).rejects.toBeInstanceOf(NotFoundError);
    await expect(io.readRange(`s3://${bucket}/nope`, 0, 4)).rejects.toBeInstanceOf(NotFoundError);
    io.destroy();
  });

  it('lists every key under a prefix across pages, and only those', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({ ...s3TestOptions(endpoint), listPageSize: 7 });
    const keys = Array.from(
      { length: 30 },
      (_, i) => `s3://${bucket}/t/data/f-${String(i).padStart(2, '0')}`,
    );
    await Promise.all(keys.map((k) => io.write(k, text(k))));
    await io.write(`s3://${bucket}/t/data-other`, text('x'));
    await io.write(`s3://${bucket}/u/x`, text('x'));
    expect(await io.list(`s3://${bucket}/t/data/`)).toEqual(keys);
    expect(await io.list(`s3://${bucket}/none/`)).toEqual([]);
    io.destroy();
  });

  it('deletes in several DeleteObjects batches and folders recursively', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({ ...s3TestOptions(endpoint), deleteBatchSize: 40 });
    const keys = Array.from({ length: 100 }, (_, i) => `s3://${bucket}/d/${i}`);
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((k) => io.write(k, new Uint8Array(1))));
    await io.deleteMany([...keys, `s3://${bucket}/d/missing`]);
    expect(await io.list(`s3://${bucket}/d/`)).toEqual([]);

    await io.write(`s3://${bucket}/tbl/metadata/v1.json`, text('1'));
    await io.write(`s3://${bucket}/tbl/data/x.parquet`, text('2'));
    await io.write(`s3://${bucket}/tbl2/keep`, text('3'));
    await io.delete(`s3://${bucket}/tbl`);
    expect(await io.list(`s3://${bucket}/`)).toEqual([`s3://${bucket}/tbl2/keep`]);
    io.destroy();
  });

  it('ifAbsent: of 8 racing writers exactly one wins; the others get AlreadyExistsError', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO(s3TestOptions(endpoint));
    const path = `s3://${bucket}/metadata/v2.metadata.json`;
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => io.write(path, text(`writer ${i}`), { ifAbsent: true })),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlreadyExistsError);
    expect(new TextDecoder().decode(await io.read(path))).toBe(`writer ${won[0]}`);
    io.destroy();
  });

  it('streams a 17 MiB file as a multipart upload of 4 parts, leaving no upload open', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({
      ...s3TestOptions(endpoint),
      partSizeBytes: 5 * MiB,
      partsInFlight: 2,
    });
    const path = `s3://${bucket}/big.bin`;
    const data = bytes(17 * MiB + 123, 7);
    const out = await io.create(path);
    for (let at = 0; at < data.length; at += 1_000_000)
      await out.write(data.subarray(at, at + 1_000_000));
    expect(await io.exists(path)).toBe(false);
    await out.close();
    const back = await io.read(path);
    expect(back.length).toBe(data.length);
    expect(sha(back)).toBe(sha(data));
    expect(await openUploads(bucket)).toBe(0);
    // write() of a large buffer takes the same path; a small create() is one PUT.
    await io.write(`s3://${bucket}/big2.bin`, data.subarray(0, 11 * MiB));
    expect(sha(await io.read(`s3://${bucket}/big2.bin`))).toBe(sha(data.subarray(0, 11 * MiB)));
    const small = await io.create(`s3://${bucket}/small.bin`);
    await small.write(text('tiny'));
    await small.close();
    expect(await io.read(`s3://${bucket}/small.bin`)).toEqual(text('tiny'));
    expect(await openUploads(bucket)).toBe(0);
    io.destroy();
  });

  it('abort() discards a multipart upload in progress', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({ ...s3TestOptions(endpoint), partSizeBytes: 5 * MiB });
    const out = await io.create(`s3://${bucket}/gone.bin`);
    await out.write(bytes(11 * MiB, 3));
    await expect.poll(() => openUploads(bucket)).toBe(1);
    await out.abort();
    expect(await openUploads(bucket)).toBe(0);
    expect(await io.exists(`s3://${bucket}/gone.bin`)).toBe(false);
    io.destroy();
  });
});

describe('S3FileIO through the fault-injecting proxy', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(endpoint);
  });
  afterAll(() => proxy?.close());

  const fast = { baseDelayMs: 2, maxDelayMs: 20 };

  it('rides out 500s, 503 SlowDown and connection resets on a third of all requests', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({
      ...s3TestOptions(proxy.endpoint),
      partSizeBytes: 5 * MiB,
      retry: { ...fast, maxAttempts: 30 },
    });
    proxy.setRules([
      { rate: 0.12, fault: '500' },
      { rate: 0.12, fault: '503' },
      { rate: 0.12, fault: 'reset' },
    ]);
    const before = { ...proxy.injected };
    const small = Array.from(
      { length: 20 },
      (_, i) => [`s3://${bucket}/s/${i}`, bytes(3000 + i, i + 1)] as const,
    );
    for (const [k, v] of small) await io.write(k, v);
    const big = bytes(16 * MiB, 9);
    await io.write(`s3://${bucket}/big`, big);
    for (const [k, v] of small) expect(sha(await io.read(k))).toBe(sha(v));
    expect(sha(await io.read(`s3://${bucket}/big`))).toBe(sha(big));
    expect(await io.readRange(`s3://${bucket}/big`, 5, 3)).toEqual(big.subarray(5, 8));
    expect(await io.list(`s3://${bucket}/s/`)).toHaveLength(20);
    await io.deleteMany(small.map(([k]) => k));
    proxy.setRules([]);
    expect(await io.list(`s3://${bucket}/s/`)).toEqual([]);
    expect(proxy.injected['500']).toBeGreaterThan(before['500']);
    expect(proxy.injected['503']).toBeGreaterThan(before['503']);
    expect(proxy.injected.reset).toBeGreaterThan(before.reset);
    expect(await openUploads(bucket)).toBe(0);
    io.destroy();
  });

  it('an ifAbsent write whose answer was lost succeeds on retry (its own object, read back)', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({ ...s3TestOptions(proxy.endpoint), retry: fast });
    const path = `s3://${bucket}/metadata/v1.metadata.json`;
    proxy.setRules([{ rate: 1, limit: 1, fault: 'reset-after', match: (r) => r.method === 'PUT' }]);
    const before = proxy.injected['reset-after'];
    await io.write(path, text('mine'), { ifAbsent: true });
    expect(proxy.injected['reset-after']).toBe(before + 1);
    // Someone else's object at the key is still refused.
    await expect(io.write(path, text('theirs'), { ifAbsent: true })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    proxy.setRules([]);
    expect(await io.read(path)).toEqual(text('mine'));
    io.destroy();
  });

  it('keeps at most partsInFlight parts uploading at once', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({
      ...s3TestOptions(proxy.endpoint),
      partSizeBytes: 5 * MiB,
      partsInFlight: 2,
    });
    proxy.setRules([]);
    proxy.maxPartsInFlight = 0;
    const data = bytes(31 * MiB, 11);
    const out = await io.create(`s3://${bucket}/wide.bin`);
    for (let at = 0; at < data.length; at += 4 * MiB)
      await out.write(data.subarray(at, at + 4 * MiB));
    await out.close();
    expect(proxy.maxPartsInFlight).toBeGreaterThan(0);
    expect(proxy.maxPartsInFlight).toBeLessThanOrEqual(2);
    expect(sha(await io.read(`s3://${bucket}/wide.bin`))).toBe(sha(data));
    io.destroy();
  });

  it('an ifAbsent write meeting 409 ConditionalRequestConflict is retried', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({ ...s3TestOptions(proxy.endpoint), retry: fast });
    proxy.setRules([{ rate: 1, limit: 2, fault: '409', match: (r) => r.method === 'PUT' }]);
    const before = proxy.injected['409'];
    await io.write(`s3://${bucket}/v1.metadata.json`, text('one'), { ifAbsent: true });
    proxy.setRules([]);
    expect(proxy.injected['409']).toBe(before + 2);
    expect(await io.read(`s3://${bucket}/v1.metadata.json`)).toEqual(text('one'));
    io.destroy();
  });

  // CreateMultipartUpload is `POST /key?uploads`, CompleteMultipartUpload `POST /key?uploadId=…`.
  const isCreate = (r: IncomingMessage) =>
    r.method === 'POST' && /[?&]uploads(=|&|$)/.test(r.url ?? '');
  const isComplete = (r: IncomingMessage) =>
    r.method === 'POST' && /[?&]uploadId=/.test(r.url ?? '');

  it('a multipart write whose CreateMultipartUpload answer was lost leaves no upload open', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({
      ...s3TestOptions(proxy.endpoint),
      partSizeBytes: 5 * MiB,
      retry: fast,
    });
    proxy.setRules([{ rate: 1, limit: 1, fault: 'reset-after', match: isCreate }]);
    const before = proxy.injected['reset-after'];
    const data = bytes(11 * MiB, 21);
    await io.write(`s3://${bucket}/created.bin`, data);
    proxy.setRules([]);
    expect(proxy.injected['reset-after']).toBe(before + 1);
    expect(sha(await io.read(`s3://${bucket}/created.bin`))).toBe(sha(data));
    expect(await openUploads(bucket)).toBe(0);
    io.destroy();
  });

  for (const ifAbsent of [false, true]) {
    it(`a multipart write${ifAbsent ? ' (ifAbsent)' : ''} whose CompleteMultipartUpload answer was lost succeeds`, async () => {
      const bucket = await makeBucket(endpoint);
      const io = new S3FileIO({
        ...s3TestOptions(proxy.endpoint),
        partSizeBytes: 5 * MiB,
        retry: fast,
      });
      proxy.setRules([{ rate: 1, limit: 1, fault: 'reset-after', match: isComplete }]);
      const before = proxy.injected['reset-after'];
      const data = bytes(11 * MiB, 22);
      const path = `s3://${bucket}/completed.bin`;
      await io.write(path, data, { ifAbsent });
      proxy.setRules([]);
      expect(proxy.injected['reset-after']).toBe(before + 1);
      expect(sha(await io.read(path))).toBe(sha(data));
      expect(await openUploads(bucket)).toBe(0);
      if (ifAbsent) {
        // Another writer's object at the key is still refused.
        const other = bytes(11 * MiB, 23);
        await expect(io.write(path, other, { ifAbsent: true })).rejects.toBeInstanceOf(
          AlreadyExistsError,
        );
      }
      io.destroy();
    });
  }

  it('a part that keeps failing aborts the multipart upload; the error names key and code', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({
      ...s3TestOptions(proxy.endpoint),
      partSizeBytes: 5 * MiB,
      retry: { ...fast, maxAttempts: 3 },
    });
    proxy.setRules([
      { rate: 1, fault: '500', match: (r) => /[?&]partNumber=2(&|$)/.test(r.url ?? '') },
    ]);
    const err = await io.write(`s3://${bucket}/fails.bin`, bytes(12 * MiB, 5)).catch((e) => e);
    proxy.setRules([]);
    expect(err).toBeInstanceOf(IcebergError);
    expect(err.code).toBe('IO');
    expect(err.message).toContain(`s3://${bucket}/fails.bin`);
    expect(err.message).toContain('InternalError');
    expect(err.context).toMatchObject({ s3Code: 'InternalError', httpStatus: 500, attempts: 3 });
    expect(await openUploads(bucket)).toBe(0);
    expect(await io.exists(`s3://${bucket}/fails.bin`)).toBe(false);
    io.destroy();
  });

  it('an exhausted budget on SlowDown gives a retryable IcebergError with key, code, attempts', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({
      ...s3TestOptions(proxy.endpoint),
      retry: { ...fast, maxAttempts: 4 },
    });
    proxy.setRules([{ rate: 1, fault: '503' }]);
    const before = proxy.injected['503'];
    const err = await io.read(`s3://${bucket}/k`).catch((e) => e);
    proxy.setRules([]);
    expect(proxy.injected['503']).toBe(before + 4);
    expect(err).toBeInstanceOf(IcebergError);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`s3://${bucket}/k`);
    expect(err.context).toMatchObject({
      path: `s3://${bucket}/k`,
      s3Code: 'SlowDown',
      httpStatus: 503,
      attempts: 4,
    });
    io.destroy();
  });

  it('a non-retryable error (NoSuchBucket) fails at once, naming key and code', async () => {
    const io = new S3FileIO({ ...s3TestOptions(proxy.endpoint), retry: fast });
    const before = proxy.forwarded;
    const err = await io.write('s3://kice-no-such-bucket-x/a/b', text('x')).catch((e) => e);
    expect(proxy.forwarded).toBe(before + 1);
    expect(err).toBeInstanceOf(IcebergError);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('s3://kice-no-such-bucket-x/a/b');
    expect(err.context).toMatchObject({ s3Code: 'NoSuchBucket', httpStatus: 404, attempts: 1 });
    io.destroy();
  });
});

describe('Parquet data files streamed to S3', () => {
  const schema = schemaFromJson({
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', required: true, type: 'long' },
      { id: 2, name: 'payload', required: false, type: 'string' },
    ],
  });
  // ~12 MiB of incompressible text: a multipart upload of 3 parts at 5 MiB.
  const rows = Array.from({ length: 3000 }, (_, i) => ({
    id: BigInt(i),
    payload: Buffer.from(bytes(2048, i + 1)).toString('hex'),
  }));
  const table = icebergRowsToArrow(schema, rows);
  const opts = { schema, specId: 0, partition: [], compression: 'uncompressed' as const };

  it('writes a multipart data file whose DataFile matches the in-memory one exactly', async () => {
    const bucket = await makeBucket(endpoint);
    const io = new S3FileIO({
      ...s3TestOptions(endpoint),
      partSizeBytes: 5 * MiB,
      partsInFlight: 2,
    });
    const path = `s3://${bucket}/t/data/f.parquet`;
    const df = await writeDataFile(io, path, table, opts);
    const mem = new MemoryFileIO();
    const want = await writeDataFile(mem, 'memory://x/f.parquet', table, opts);
    expect(df.fileSizeInBytes).toBeGreaterThan(10 * MiB);
    expect({ ...df, filePath: '' }).toEqual({ ...want, filePath: '' });
    const back = await io.read(path);
    expect(back.length).toBe(df.fileSizeInBytes);
    expect(sha(back)).toBe(sha(await mem.read('memory://x/f.parquet')));
    expect(arrowTableToRows(schema, readParquet(back))).toEqual(rows);
    expect(await openUploads(bucket)).toBe(0);
    io.destroy();
  });

  it('a failed part upload aborts the data file: no object, no open upload', async () => {
    const proxy = await startFaultProxy(endpoint);
    try {
      const bucket = await makeBucket(endpoint);
      const io = new S3FileIO({
        ...s3TestOptions(proxy.endpoint),
        partSizeBytes: 5 * MiB,
        retry: { baseDelayMs: 2, maxDelayMs: 20, maxAttempts: 2 },
      });
      proxy.setRules([
        { rate: 1, fault: '503', match: (r) => /[?&]partNumber=2(&|$)/.test(r.url ?? '') },
      ]);
      const path = `s3://${bucket}/t/data/f.parquet`;
      const err = await writeDataFile(io, path, table, opts).catch((e) => e);
      proxy.setRules([]);
      expect(err).toBeInstanceOf(IcebergError);
      expect(err.context).toMatchObject({ path, s3Code: 'SlowDown', attempts: 2 });
      expect(await openUploads(bucket)).toBe(0);
      expect(await io.exists(path)).toBe(false);
      io.destroy();
    } finally {
      await proxy.close();
    }
  });
});

describe('FilesystemCatalog on an s3:// warehouse', () => {
  it('of 6 catalogs (own clients) committing the same table at once, exactly one wins', async () => {
    const bucket = await makeBucket(endpoint);
    const warehouse = `s3://${bucket}/wh`;
    const ios = Array.from({ length: 6 }, () => new S3FileIO(s3TestOptions(endpoint)));
    const cats = ios.map((io) => new FilesystemCatalog({ warehouse, io }));
    const schema = schemaFromJson({
      type: 'struct',
      'schema-id': 0,
      fields: [{ id: 1, name: 'id', required: true, type: 'long' }],
    });
    const id = { namespace: ['db'], name: 't' };
    await cats[0]?.createNamespace(['db']);
    const t = await cats[0]?.createTable(id, { schema });
    expect(t?.metadataLocation).toBe(`${warehouse}/db/t/metadata/v1.metadata.json`);
    const results = await Promise.allSettled(
      cats.map((c, i) =>
        c.commitTable(id, [], [{ action: 'set-properties', updates: { w: String(i) } }]),
      ),
    );
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(CommitConflictError);
    const loaded = await cats[1]?.loadTable(id);
    expect(loaded?.metadataLocation).toBe(`${warehouse}/db/t/metadata/v2.metadata.json`);
    expect(loaded?.metadata.properties.w).toBe(String(won[0]));
    expect(await ios[0]?.list(`${warehouse}/db/t/metadata/`)).toEqual([
      `${warehouse}/db/t/metadata/v1.metadata.json`,
      `${warehouse}/db/t/metadata/v2.metadata.json`,
      `${warehouse}/db/t/metadata/version-hint.text`,
    ]);
    for (const io of ios) io.destroy();
  });
});

/**
 * parseRecordBatches in a worker thread, as the pool will run it: the fetched bytes in a
 * SharedArrayBuffer, every codec (the native lz4 and CRC-32C modules load in a worker
 * too), and the packed values coming back in shared memory (not copied).
 */

import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterAll, expect, it } from 'vitest';
import { parseRecordBatches } from '../../../src/source/batches/parse.ts';
import { concatBytes, encodeBatch, gzip, marker, shared, zstdRaw } from './encode.ts';

const require = createRequire(import.meta.url);
const snappy = require('snappyjs') as { compress(b: Uint8Array): Uint8Array };
const lz4 = require('lz4-napi') as { compressFrameSync(b: Buffer): Buffer };

const CORE = fileURLToPath(new URL('../../..', import.meta.url));
const DIR = join(CORE, '.cache', `batches-worker-test-${process.pid}`);

afterAll(() => rm(DIR, { recursive: true, force: true }));

it('parses every codec in a worker and hands the values back in shared memory', async () => {
  // The parser bundled to one ESM file next to core's node_modules (packages stay external).
  const entry = join(DIR, 'entry.ts');
  await mkdir(DIR, { recursive: true });
  await writeFile(
    entry,
    [
      "import { parentPort, workerData } from 'node:worker_threads';",
      `import { parseRecordBatches } from ${JSON.stringify(join(CORE, 'src/source/batches/parse.ts'))};`,
      `import { crc32cImplementation } from ${JSON.stringify(join(CORE, 'src/source/batches/crc32c.ts'))};`,
      'const r = parseRecordBatches(workerData);',
      'parentPort.postMessage({ crc: crc32cImplementation, records: r.records });',
    ].join('\n'),
  );
  const out = join(DIR, 'worker.mjs');
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  const records = (from: number) =>
    Array.from({ length: 20 }, (_, d) => ({
      offsetDelta: d,
      key: `k${d}`,
      value: `value ${from + d}`,
    }));
  const data = shared(
    concatBytes(
      encodeBatch({ baseOffset: 0n, records: records(0) }),
      encodeBatch({ baseOffset: 20n, records: records(20), codec: 1, compress: gzip }),
      encodeBatch({
        baseOffset: 40n,
        records: records(40),
        codec: 2,
        compress: (b) => snappy.compress(b),
      }),
      marker(60n, 9n, true),
      encodeBatch({
        baseOffset: 61n,
        records: records(61),
        codec: 3,
        compress: (b) => lz4.compressFrameSync(Buffer.from(b)),
      }),
      encodeBatch({ baseOffset: 81n, records: records(81), codec: 4, compress: zstdRaw }),
    ),
  );
  const input = {
    topic: 't',
    partition: 0,
    data,
    fetchOffset: 0n,
    isolation: 'read_committed' as const,
    keepKeys: true,
  };
  const worker = new Worker(out, { workerData: input });
  const got = await new Promise<{
    crc: string;
    records: ReturnType<typeof parseRecordBatches>['records'];
  }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  expect(got.crc).toBe('native');
  const here = parseRecordBatches(input).records;
  expect(got.records?.count).toBe(100);
  expect(got.records).toEqual(here);
  // A SharedArrayBuffer crosses threads shared, never copied.
  expect(got.records?.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
});

/**
 * The engine on a faulty object store: `kice run` writes a filesystem catalog whose warehouse
 * is `s3://<bucket>/wh` on the real S3 server (test/infra/s3.sh), but every request goes
 * through the fault-injecting proxy (test/support/fault-proxy.ts), which fails about a sixth
 * of all requests: 500 InternalError, 503 SlowDown, a connection reset before the request
 * reaches the server, and a reset after the server answered (the request took effect, its
 * answer is lost). That covers data file and manifest PUTs, the conditional
 * (If-None-Match) PUTs of metadata files, version-hint writes, GETs, HEADs and LISTs, and
 * the test asserts each of those kinds was hit.
 *
 * 30,000 rich events over 4 partitions, a third produced before each run: `kice run` is
 * killed with SIGKILL twice soon after a commit and restarted, then a `run --once`
 * drains the topic, all under faults.
 * Then (read directly from the server, no faults): every produced event is in the table
 * exactly once with every column equal (PyIceberg), the current snapshot records the end
 * offsets, every object any snapshot references (manifest lists, manifests, data files)
 * exists with exactly the size its manifest (list) records, and no multipart upload is
 * left open. Multipart uploads under faults are exercised in s3-file-io.integration.test.ts
 * (data files here are smaller than a part).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { readManifest, readManifestList, S3FileIO, tableMetadataFromJson } from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { startKafka } from '../support/kafka.ts';
import { runOnce, spawnKice, writeConfig } from '../support/kice-process.ts';
import {
  createTopic,
  endOffsets,
  idRange,
  produce,
  RICH_COLUMNS,
  richExpected,
  richRecord,
} from '../support/produce.ts';
import { allRowsMatch, checkRows } from '../support/row-hash.ts';
import {
  makeBucket,
  S3_TEST_CREDENTIALS,
  s3TestClient,
  s3TestOptions,
  startS3,
} from '../support/s3.ts';

const RUN = randomBytes(4).toString('hex');
const TOPIC = `kice-e2e-s3faults-${RUN}`;
const GROUP = `kice-e2e-s3faults-${RUN}`;
const TABLE = 'e2e.s3_faults';
const COUNT = 30_000;
const PARTITIONS = 4;
const KILLS = 2;

let brokers: string[];
let endpoint: string;
let bucket: string;
let dir: string;
let proxy: FaultProxy;
let io: S3FileIO;
let raw: S3Client;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  [brokers, endpoint] = await Promise.all([startKafka().then((b) => [b]), startS3()]);
  bucket = await makeBucket(endpoint, 'faults');
  proxy = await startFaultProxy(endpoint);
  // The test's own view of the bucket: straight to the server, no faults.
  io = new S3FileIO(s3TestOptions(endpoint));
  raw = s3TestClient(endpoint);
  dir = await mkdtemp(join(tmpdir(), 'kice-s3-faults-'));
  // The Python readers go straight to the server too.
  process.env.KICE_S3_ENDPOINT = endpoint;
});
afterAll(async () => {
  io?.destroy();
  raw?.destroy();
  await proxy?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const tableRoot = () => `s3://${bucket}/wh/e2e/s3_faults`;

/** Every object in the bucket with its size, by s3:// URI. */
async function objectSizes(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await raw.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.set(`s3://${bucket}/${o.Key}`, Number(o.Size));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return out;
}

/** The newest v<N>.metadata.json of the table. */
async function latestMetadata(sizes: Map<string, number>): Promise<string> {
  let best = 0;
  for (const f of sizes.keys()) {
    const m = /\/metadata\/v(\d+)\.metadata\.json$/.exec(f);
    if (m && Number(m[1]) > best) best = Number(m[1]);
  }
  if (best === 0) throw new Error('no metadata file in the bucket');
  return `${tableRoot()}/metadata/v${best}.metadata.json`;
}

/** The kice offsets the current snapshot records for GROUP. */
function currentOffsets(text: string): Record<string, Record<string, string>> {
  const cur = /"current-snapshot-id"\s*:\s*(-?\d+)/.exec(text)?.[1];
  const meta = JSON.parse(text.replace(/("snapshot-id"\s*:\s*)(-?\d+)/g, '$1"$2"')) as {
    snapshots: { 'snapshot-id': string; summary: Record<string, string> }[];
  };
  const raw = meta.snapshots.find((s) => s['snapshot-id'] === cur)?.summary[
    `kice.offsets.${GROUP}`
  ];
  if (raw === undefined) throw new Error(`no kice.offsets.${GROUP} in the current snapshot`);
  return JSON.parse(raw) as Record<string, Record<string, string>>;
}

/**
 * Walks every snapshot of the metadata: each manifest list must exist, each manifest must
 * exist with the length the list records, each live data file with the size the manifest
 * records. Returns the problems found and how many objects were checked.
 */
async function referencedObjects(
  metadataText: string,
  sizes: Map<string, number>,
): Promise<{ problems: string[]; lists: number; manifests: number; dataFiles: number }> {
  const meta = tableMetadataFromJson(metadataText);
  const problems: string[] = [];
  const seenManifests = new Set<string>();
  const seenData = new Set<string>();
  const check = (path: string, size: number | undefined) => {
    const got = sizes.get(path);
    if (got === undefined) problems.push(`missing: ${path}`);
    else if (size !== undefined && got !== size)
      problems.push(`size of ${path}: ${got} on the server, ${size} recorded`);
  };
  for (const snap of meta.snapshots) {
    check(snap.manifestList, undefined);
    if (!sizes.has(snap.manifestList)) continue;
    for (const m of readManifestList(await io.read(snap.manifestList))) {
      if (seenManifests.has(m.manifestPath)) continue;
      seenManifests.add(m.manifestPath);
      check(m.manifestPath, m.manifestLength);
      if (!sizes.has(m.manifestPath)) continue;
      for (const e of readManifest(await io.read(m.manifestPath)).entries) {
        if (e.status === 2 || seenData.has(e.dataFile.filePath)) continue;
        seenData.add(e.dataFile.filePath);
        check(e.dataFile.filePath, e.dataFile.fileSizeInBytes);
      }
    }
  }
  return {
    problems,
    lists: meta.snapshots.length,
    manifests: seenManifests.size,
    dataFiles: seenData.size,
  };
}

describe('kice run on an S3 store that fails a sixth of all requests', () => {
  it('retries through the faults and 2 kill -9s: every event once, every referenced object whole', async () => {
    await createTopic(brokers, TOPIC, PARTITIONS);
    // A third of the events before each run, so every run has something to commit.
    const STAGE = COUNT / (KILLS + 1);
    const stage = async (k: number) =>
      expect(
        await produce({
          brokers,
          topic: TOPIC,
          partitions: PARTITIONS,
          first: k * STAGE,
          count: STAGE,
          record: richRecord,
        }),
      ).toBe(STAGE);
    const config = await writeConfig(dir, {
      kafka: { brokers, groupId: GROUP, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
      catalog: { type: 'filesystem', warehouse: `s3://${bucket}/wh` },
      storage: {
        s3: {
          endpoint: proxy.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          ...S3_TEST_CREDENTIALS,
          // A budget no run of bad luck at this fault rate exhausts (0.17^12 per request),
          // with short delays so the test stays quick.
          retry: { maxAttempts: 12, baseDelayMs: 10, maxDelayMs: 200 },
        },
      },
      tables: [{ topic: TOPIC, table: TABLE, columns: RICH_COLUMNS }],
      // Frequent commits: many metadata writes under faults, and kills between them.
      commit: { intervalMs: 500 },
      deadLetter: { topic: `${GROUP}-dlq` },
      log: { level: 'info' },
    });
    const metadataPut = (r: IncomingMessage) =>
      r.method === 'PUT' &&
      r.headers['if-none-match'] !== undefined &&
      /\.metadata\.json/.test(r.url ?? '');
    const manifestPut = (r: IncomingMessage) => r.method === 'PUT' && /\.avro/.test(r.url ?? '');
    const hintPut = (r: IncomingMessage) =>
      r.method === 'PUT' && /version-hint\.text/.test(r.url ?? '');
    const dataPut = (r: IncomingMessage) => r.method === 'PUT' && /\.parquet/.test(r.url ?? '');
    proxy.setRules([
      // A handful of commits is too few for a random sixth to be sure to hit these: the
      // first conditional metadata PUTs and version-hint PUTs fail for certain (the first
      // two metadata PUTs after taking effect), and so do the first data file and manifest
      // PUTs; then all requests fail at random, conditional metadata PUTs more often.
      { match: metadataPut, rate: 1, limit: 2, fault: 'reset-after' },
      { match: metadataPut, rate: 1, limit: 1, fault: '503' },
      { match: hintPut, rate: 1, limit: 1, fault: 'reset-after' },
      { match: hintPut, rate: 1, limit: 1, fault: '500' },
      { match: dataPut, rate: 1, limit: 1, fault: 'reset-after' },
      { match: manifestPut, rate: 1, limit: 1, fault: 'reset-after' },
      { match: manifestPut, rate: 1, limit: 1, fault: '503' },
      { match: metadataPut, rate: 0.2, fault: 'reset-after' },
      { rate: 0.05, fault: '500' },
      { rate: 0.05, fault: '503' },
      { rate: 0.04, fault: 'reset' },
      { rate: 0.04, fault: 'reset-after' },
    ]);

    let commits = 0;
    // A lost metadata PUT answer taken for a conflict would show as a refused commit.
    const REFUSED = 'commit refused by offset continuity; re-seeking';
    let refused = 0;
    const t0 = Date.now();
    const phases: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      await stage(k);
      const p = spawnKice(config);
      await p
        .waitForNth((l) => l.msg === 'committed', 1 + (k % 2), 60_000)
        .catch(async (e) => {
          await p.kill9();
          throw new Error(
            `run ${k + 1}: ${(e as Error).message}; its log:\n${p.lines
              .slice(-15)
              .map((l) => JSON.stringify(l))
              .join('\n')}\n${p.stderr}`,
          );
        });
      await sleep(Math.floor(Math.random() * 300));
      expect(p.done, `kice exited by itself:\n${p.stderr}`).toBe(false);
      await p.kill9();
      commits += p.withMsg('committed').length;
      refused += p.withMsg(REFUSED).length;
      phases.push(`run ${k + 1} killed at ${Date.now() - t0} ms`);
    }
    await stage(KILLS);
    const drain = await runOnce(config);
    commits += drain.process.withMsg('committed').length;
    phases.push(`drained at ${Date.now() - t0} ms`);
    proxy.setRules([]);
    expect(drain.process.withMsg('records dead-lettered')).toEqual([]);
    refused += drain.process.withMsg(REFUSED).length;
    expect(refused).toBe(0);

    // The faults hit every kind of request the engine makes.
    const hit = (pred: (f: (typeof proxy.log)[number]) => boolean) => proxy.log.filter(pred).length;
    const faults = {
      metadataPut: hit(
        (f) => f.method === 'PUT' && f.ifNoneMatch && /\.metadata\.json/.test(f.url),
      ),
      metadataPutLost: hit(
        (f) => f.fault === 'reset-after' && f.ifNoneMatch && /\.metadata\.json/.test(f.url),
      ),
      hintPut: hit((f) => f.method === 'PUT' && /version-hint\.text/.test(f.url)),
      dataPut: hit((f) => f.method === 'PUT' && /\/data\/.*\.parquet/.test(f.url)),
      manifestPut: hit((f) => f.method === 'PUT' && /\/metadata\/.*\.avro/.test(f.url)),
      get: hit((f) => f.method === 'GET'),
      head: hit((f) => f.method === 'HEAD'),
    };
    console.log(
      `engine-s3-faults: ${proxy.log.length} faults injected (${JSON.stringify(proxy.injected)}), ${proxy.forwarded} requests forwarded, ${commits} commits; by kind ${JSON.stringify(faults)}`,
    );
    for (const [kind, n] of Object.entries(faults)) expect(n, kind).toBeGreaterThan(0);

    const sizes = await objectSizes();
    const metadata = await latestMetadata(sizes);
    const text = new TextDecoder().decode(await io.read(metadata));
    // PyIceberg (a child process) reads the rows while this process walks the snapshots.
    const [rows, refs, ends] = await Promise.all([
      checkRows(metadata, 'id', idRange(0, COUNT), richExpected),
      referencedObjects(text, sizes),
      endOffsets(brokers, TOPIC),
    ]);
    console.log(
      `engine-s3-faults: ${phases.join(', ')}, checked at ${Date.now() - t0} ms; ${refs.lists} snapshots, ${refs.manifests} manifests, ${refs.dataFiles} data files referenced`,
    );
    expect(rows).toEqual(allRowsMatch(COUNT));
    expect(currentOffsets(text)).toEqual({ [TOPIC]: ends });
    expect(refs.problems).toEqual([]);
    expect(refs.dataFiles).toBeGreaterThan(0);
    const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });
});

/**
 * One simulated kice group member of the commit-contention benchmark
 * (./commit-contention.ts), run in its own worker thread so that K of them really race.
 *
 * It owns one partition of a simulated topic and commits through kice's real commit path:
 * @kice/core's `Committer.append` (a merge append with the offset-continuity check, every
 * group's `kice.offsets.<group>` carried forward, @kice/iceberg's retry loop with the
 * table's commit.retry.* properties). Before the start signal it writes all its data files
 * (one tiny Parquet file per commit, as kice's workers write files before the committer
 * sees them); then it commits them back to back (or one per interval), each covering the next `rowsPerCommit`
 * offsets of its partition, timing each `append` and counting, through a wrapper around
 * the catalog, every catalog commit call and every one refused because the table moved
 * (CommitConflictError). An append whose retries ran out is counted and tried again with
 * the same files and range, so the table ends with every commit exactly once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Committer } from '@kice/core';
import {
  type Catalog,
  CommitConflictError,
  type DataFile,
  FilesystemCatalog,
  icebergRowsToArrow,
  LocalFileIO,
  parseIdentifier,
  RestCatalog,
  type Schema,
  writeDataFile,
} from '@kice/iceberg';

export type ContentionCatalog =
  | { readonly type: 'filesystem'; readonly warehouse: string }
  | { readonly type: 'rest'; readonly uri: string };

export interface WriterInput {
  readonly catalog: ContentionCatalog;
  readonly table: string;
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly commits: number;
  readonly rowsPerCommit: number;
  /**
   * 0: commit back to back. Otherwise commit i is started at start + phase + i × interval
   * (phase random in [0, interval)), as a member flushing every interval would, or at
   * once when the previous commit ran late.
   */
  readonly intervalMs: number;
}

export interface WriterOutput {
  readonly partition: number;
  /** Milliseconds of each successful `append`, retries and backoff included. */
  readonly latenciesMs: number[];
  /** Catalog commit calls per successful append (1 = no conflict). */
  readonly attempts: number[];
  /** Catalog commit calls refused because the base metadata moved. */
  readonly conflicts: number;
  /** Appends that ran out of retries (then tried again). */
  readonly exhausted: number;
  /** Appends refused by the offset check (would mean a lost or doubled commit). */
  readonly refused: number;
  readonly startMs: number;
  readonly endMs: number;
}

export const CONTENTION_SCHEMA: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'id', required: false, type: 'long' },
    { id: 2, name: 'writer', required: false, type: 'int' },
  ],
};

/** Counts commit calls and conflicts of the catalog it wraps. */
class CountingCatalog {
  calls = 0;
  conflicts = 0;
  constructor(private readonly inner: Catalog) {}
  wrap(): Catalog {
    return new Proxy(this.inner, {
      get: (target, prop, receiver) => {
        if (prop === 'commitTable') {
          return async (...args: Parameters<Catalog['commitTable']>) => {
            this.calls++;
            try {
              const t = await target.commitTable(...args);
              // Loaded tables point back at their catalog: keep them pointing at the wrapper.
              return { ...t, catalog: receiver as Catalog };
            } catch (e) {
              if (e instanceof CommitConflictError) this.conflicts++;
              throw e;
            }
          };
        }
        if (prop === 'loadTable') {
          return async (...args: Parameters<Catalog['loadTable']>) => ({
            ...(await target.loadTable(...args)),
            catalog: receiver as Catalog,
          });
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }
}

function openCatalog(c: ContentionCatalog): Catalog {
  const io = new LocalFileIO();
  return c.type === 'filesystem'
    ? new FilesystemCatalog({ warehouse: c.warehouse, io })
    : new RestCatalog({ uri: c.uri, io });
}

async function main(input: WriterInput): Promise<WriterOutput> {
  const counting = new CountingCatalog(openCatalog(input.catalog));
  const catalog = counting.wrap();
  const committer = new Committer(catalog, input.group);
  const table = await catalog.loadTable(parseIdentifier(input.table));
  const files: DataFile[] = [];
  for (let i = 0; i < input.commits; i++) {
    const first = i * input.rowsPerCommit;
    const rows = Array.from({ length: input.rowsPerCommit }, (_, j) => ({
      id: BigInt(input.partition * 1_000_000_000 + first + j),
      writer: input.partition,
    }));
    const path = `${table.metadata.location}/data/w${input.partition}-${i}.parquet`;
    files.push(
      await writeDataFile(table.io, path, icebergRowsToArrow(CONTENTION_SCHEMA, rows), {
        schema: CONTENTION_SCHEMA,
        specId: 0,
        partition: [],
      }),
    );
  }
  // Ready: wait for the start signal, so that every writer starts at once.
  await new Promise<void>((resolve) => {
    parentPort?.once('message', () => resolve());
    parentPort?.postMessage({ ready: true });
  });
  const latenciesMs: number[] = [];
  const attempts: number[] = [];
  let exhausted = 0;
  let refused = 0;
  const startMs = Date.now();
  const phase = Math.random() * input.intervalMs;
  for (let i = 0; i < input.commits; i++) {
    const due = startMs + phase + i * input.intervalMs;
    if (input.intervalMs > 0 && due > Date.now())
      await new Promise((r) => setTimeout(r, due - Date.now()));
    const range = {
      topic: input.topic,
      partition: input.partition,
      from: BigInt(i * input.rowsPerCommit),
      to: BigInt((i + 1) * input.rowsPerCommit),
    };
    for (let tries = 0; ; tries++) {
      const calls0 = counting.calls;
      const t0 = performance.now();
      try {
        const r = await committer.append(input.table, [files[i] as DataFile], [range]);
        if (r.status === 'refused') refused++;
        else {
          latenciesMs.push(performance.now() - t0);
          attempts.push(counting.calls - calls0);
        }
        break;
      } catch (e) {
        if (!(e instanceof CommitConflictError) || tries >= 20) throw e;
        exhausted++;
      }
    }
  }
  return {
    partition: input.partition,
    latenciesMs,
    attempts,
    conflicts: counting.conflicts,
    exhausted,
    refused,
    startMs,
    endMs: Date.now(),
  };
}

if (parentPort) {
  main(workerData as WriterInput).then(
    (out) => parentPort?.postMessage({ done: out }),
    (e: unknown) => parentPort?.postMessage({ error: e instanceof Error ? e.stack : String(e) }),
  );
}

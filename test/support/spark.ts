/**
 * Apache Spark with the Iceberg Spark runtime (the Java reference implementation) from
 * tests: the server of test/infra/spark.sh (test/support/spark_server.py), one Spark JVM
 * shared by every test file of a vitest run. The first request of a test file starts it
 * (`spark.sh start` is idempotent: later files reuse the running server); the integration
 * project's global teardown (./spark-global-setup.ts) stops it at the end of the run.
 *
 * Requests go in batches (one HTTP round trip, run in order by the one Spark session);
 * rows come back type-tagged and are decoded into the in-memory conventions of
 * packages/iceberg/src/spec/types.ts (see ./tagged.ts). Spark reads an Iceberg uuid as a
 * string and fixed as binary, as those conventions have them; it has no TIME type.
 *
 * A warehouse is an absolute folder; Spark reads and writes it through a Hadoop catalog
 * (the layout of kice's filesystem catalog: <warehouse>/<ns>/<table>/metadata/
 * v<N>.metadata.json and version-hint.text). In SQL, `{k}` names that catalog.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { decodeTagged, type JsonValue, REPO_ROOT, type Row } from './readers.ts';

/** Path of the service script. */
export const SPARK_SH = join(REPO_ROOT, 'test/infra/spark.sh');

export type SparkRequest =
  | { readonly op: 'sql'; readonly warehouse?: string; readonly sql: string }
  | { readonly op: 'rows'; readonly warehouse: string; readonly table: string }
  | { readonly op: 'load'; readonly location: string }
  /** Top-level primitive columns through Iceberg Java's generic reader (reads `time`). */
  | { readonly op: 'java-generic'; readonly location: string; readonly columns: readonly string[] }
  | {
      readonly op: 'append';
      readonly warehouse: string;
      readonly table: string;
      /** Rows keyed by column name, tagged (encodeTagged). */
      readonly rows: readonly JsonValue[];
    }
  /**
   * Iceberg Java decodes a deletion-vector-v1 blob (hex) that deletes `positions`
   * (decimal strings) of `referenced`: one row, `cardinality` (bigint), `missing` (the
   * positions Java does not find deleted) and `serialized` (Java's own serialization of
   * what it decoded, Uint8Array).
   */
  | {
      readonly op: 'java-dv';
      readonly blob: string;
      readonly positions: readonly string[];
      readonly referenced: string;
    };

/** Runs `spark.sh <command>`; resolves with stdout, rejects with stderr on a non-zero exit. */
export function sparkScript(command: 'start' | 'stop' | 'status' | 'jar'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SPARK_SH, command], { maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => {
      if (error) reject(new Error(`spark.sh ${command} failed (${error.code}):\n${err}`));
      else resolve(out);
    });
  });
}

let address: Promise<string> | undefined;

/** Starts (or reuses) the server; resolves with its address, e.g. `127.0.0.1:40123`. */
export function startSpark(): Promise<string> {
  if (address === undefined) {
    address = sparkScript('start').then((out) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (!/^127\.0\.0\.1:\d+$/.test(last)) throw new Error(`spark.sh start printed "${last}"`);
      return last;
    });
    address.catch(() => {
      address = undefined;
    });
  }
  return address;
}

interface BatchReply {
  readonly results: ({ rows: JsonValue[] } | { error: string })[];
}

async function post(requests: readonly SparkRequest[]): Promise<BatchReply> {
  const body = JSON.stringify({ requests });
  for (let attempt = 1; ; attempt++) {
    const addr = await startSpark();
    try {
      const res = await fetch(`http://${addr}/batch`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      if (!res.ok) throw new Error(`spark server: HTTP ${res.status}: ${await res.text()}`);
      return (await res.json()) as BatchReply;
    } catch (e) {
      // A server that stopped itself after idling (or was stopped) refuses the connection:
      // start it again, once.
      const refused = (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
      if (!refused || attempt > 1) throw e;
      address = undefined;
    }
  }
}

/**
 * Runs the requests in order in the shared Spark session and resolves with each one's
 * decoded rows. Rejects if any request failed, naming it and Spark's error.
 */
export async function sparkBatch(requests: readonly SparkRequest[]): Promise<Row[][]> {
  const { results } = await post(requests);
  return results.map((r, i) => {
    if ('error' in r) {
      const req = JSON.stringify(requests[i]).slice(0, 300);
      throw new Error(`Spark request ${i} ${req} failed: ${r.error}`);
    }
    return r.rows.map((row) => decodeTagged(row) as Row);
  });
}

async function one(request: SparkRequest): Promise<Row[]> {
  return (await sparkBatch([request]))[0] as Row[];
}

/** Every row of `<warehouse>` table `ns.t` as Spark reads it through the Hadoop catalog. */
export function sparkRows(warehouse: string, table: string): Promise<Row[]> {
  return one({ op: 'rows', warehouse, table });
}

/** Rows of the table at a folder (through its version hint) or a metadata JSON file. */
export function sparkLoad(location: string): Promise<Row[]> {
  return one({ op: 'load', location });
}

/** Result rows of SQL run in Spark; `{k}` names the warehouse's catalog. */
export function sparkSql(warehouse: string, sql: string): Promise<Row[]> {
  return one({ op: 'sql', warehouse, sql });
}

/** A `files` metadata table row, as Spark's Iceberg runtime reports it. */
export interface SparkFile {
  /** 0 data, 1 position deletes, 2 equality deletes. */
  readonly content: number;
  readonly filePath: string;
  readonly recordCount: bigint;
  readonly columnSizes: Map<number, bigint> | null;
  readonly valueCounts: Map<number, bigint> | null;
  readonly nullValueCounts: Map<number, bigint> | null;
  readonly nanValueCounts: Map<number, bigint> | null;
  /** Single-value serialized bounds (spec Appendix D). */
  readonly lowerBounds: Map<number, Uint8Array> | null;
  readonly upperBounds: Map<number, Uint8Array> | null;
}

/** The SQL that {@link toSparkFile} decodes: the `files` metadata table of `ns.t`. */
export function sparkFilesSql(table: string): string {
  return `SELECT content, file_path, record_count, column_sizes, value_counts, null_value_counts, nan_value_counts, lower_bounds, upper_bounds FROM {k}.${table}.files ORDER BY file_path`;
}

/** One row of {@link sparkFilesSql}. */
export function toSparkFile(r: Row): SparkFile {
  return {
    content: r.content as number,
    filePath: r.file_path as string,
    recordCount: r.record_count as bigint,
    columnSizes: r.column_sizes as Map<number, bigint> | null,
    valueCounts: r.value_counts as Map<number, bigint> | null,
    nullValueCounts: r.null_value_counts as Map<number, bigint> | null,
    nanValueCounts: r.nan_value_counts as Map<number, bigint> | null,
    lowerBounds: r.lower_bounds as Map<number, Uint8Array> | null,
    upperBounds: r.upper_bounds as Map<number, Uint8Array> | null,
  };
}

/** The live files (data and delete files) of `ns.t`, sorted by path. */
export async function sparkFiles(warehouse: string, table: string): Promise<SparkFile[]> {
  return (await sparkSql(warehouse, sparkFilesSql(table))).map(toSparkFile);
}

/**
 * `kice query <table> [--where …] [--select a,b.c] [--as-of <snapshot-id|ISO time>]
 * [--limit N] [--format table|json|csv] [--url http://host:port | -c kice.yaml]`.
 *
 * With `--url` it POSTs /query to a running kice (docs/operations.md#querying-over-http;
 * the answer read as an Arrow stream and printed); with `-c` and no `--url` it opens the
 * config's catalog and reads the table's snapshot itself (cold only: rows still in a
 * daemon's memory are not seen), no daemon needed. The where text is
 * checked here first, so a typo fails before any I/O (exit 2, the problem named).
 */
import { Writable } from 'node:stream';
import {
  createCatalog,
  createFileIO,
  type Format,
  KiceError,
  loadConfigFile,
  pipeResult,
  whereOf,
} from '@kice/core';
import { coldScan, IcebergError, parseIdentifier } from '@kice/iceberg';
import { RecordBatchReader } from 'apache-arrow';

export interface QueryFlags {
  readonly table: string;
  readonly where?: string;
  readonly select?: string;
  readonly asOf?: string;
  readonly limit?: string;
  readonly format?: string;
  readonly url?: string;
  readonly config?: string;
  readonly token?: string;
}

const CLI_FORMATS = ['table', 'json', 'csv'] as const;

/** A usage problem: exit 2 with the message. */
export class UsageError extends Error {}

interface Parsed {
  readonly select?: string[];
  readonly where?: ReturnType<typeof whereOf>;
  readonly asOf?: { snapshotId: string } | { timestampMs: number };
  readonly limit?: number;
  readonly format: (typeof CLI_FORMATS)[number];
}

export function parseQueryFlags(f: QueryFlags): Parsed {
  const format = (f.format ?? 'table') as Parsed['format'];
  if (!CLI_FORMATS.includes(format))
    throw new UsageError(`query --format: "${f.format}" is not one of ${CLI_FORMATS.join(', ')}`);
  let limit: number | undefined;
  if (f.limit !== undefined) {
    if (!/^\d{1,10}$/.test(f.limit) || Number(f.limit) > 2 ** 31 - 1)
      throw new UsageError(`query --limit: "${f.limit}" is not an integer from 0 to 2147483647`);
    limit = Number(f.limit);
  }
  let select: string[] | undefined;
  if (f.select !== undefined) {
    select = f.select.split(',').map((s) => s.trim());
    if (select.some((s) => s === ''))
      throw new UsageError(`query --select: "${f.select}" has an empty column name`);
  }
  let asOf: Parsed['asOf'];
  if (f.asOf !== undefined) {
    if (/^-?\d+$/.test(f.asOf)) asOf = { snapshotId: f.asOf };
    else {
      const ms = Date.parse(f.asOf);
      if (!/^\d{4}-\d{2}-\d{2}/.test(f.asOf) || Number.isNaN(ms))
        throw new UsageError(
          `query --as-of: "${f.asOf}" is neither a snapshot id nor an ISO 8601 time`,
        );
      asOf = { timestampMs: ms };
    }
  }
  let where: Parsed['where'];
  if (f.where !== undefined) {
    try {
      where = whereOf(f.where);
    } catch (e) {
      if (e instanceof KiceError) throw new UsageError(`query --${e.message}`);
      throw e;
    }
  }
  return {
    format,
    ...(select ? { select } : {}),
    ...(where ? { where } : {}),
    ...(asOf ? { asOf } : {}),
    ...(limit !== undefined ? { limit } : {}),
  };
}

function stdoutSink(): Writable {
  // process.stdout must not be ended: a wrapper that forwards with backpressure.
  return new Writable({
    write(chunk, _enc, cb) {
      if (process.stdout.write(chunk)) cb();
      else process.stdout.once('drain', () => cb());
    },
  });
}

/** Cold: the config's catalog, the table's current (or --as-of) snapshot. */
async function queryCold(configPath: string, f: QueryFlags, p: Parsed): Promise<number> {
  const config = await loadConfigFile(configPath);
  const catalog = createCatalog(config.catalog, createFileIO(config.storage));
  try {
    const t = await catalog.loadTable(parseIdentifier(f.table));
    const scan = await coldScan(t, {
      ...(p.select ? { select: p.select } : {}),
      ...(p.where ? { filter: p.where } : {}),
      ...(p.limit !== undefined ? { limit: p.limit } : {}),
      ...(p.asOf && 'snapshotId' in p.asOf ? { snapshotId: BigInt(p.asOf.snapshotId) } : {}),
      ...(p.asOf && 'timestampMs' in p.asOf ? { asOfTimestampMs: p.asOf.timestampMs } : {}),
    });
    await pipeResult(p.format as Format, scan.arrowSchema, scan.batches(), stdoutSink());
    return 0;
  } catch (e) {
    if (e instanceof IcebergError && (e.code === 'NOT_FOUND' || e.code === 'INVALID_ARGUMENT')) {
      process.stderr.write(`kice: query ${f.table}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** Through a daemon: POST /query, the answer as NDJSON, re-rendered for the terminal. */
async function queryHttp(base: string, f: QueryFlags, p: Parsed): Promise<number> {
  let url: URL;
  try {
    url = new URL('/query', base);
  } catch {
    throw new UsageError(`query --url: "${base}" is not a URL`);
  }
  const body = JSON.stringify({
    table: f.table,
    ...(p.select ? { select: p.select } : {}),
    ...(f.where !== undefined ? { where: f.where } : {}),
    ...(p.asOf ? { asOf: p.asOf } : {}),
    ...(p.limit !== undefined ? { limit: p.limit } : {}),
  });
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/vnd.apache.arrow.stream',
      ...(f.token ? { authorization: `Bearer ${f.token}` } : {}),
    },
    body,
  });
  if (!res.ok) {
    const text = await res.text();
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error: string }).error;
    } catch {}
    process.stderr.write(`kice: query ${f.table}: ${res.status}: ${msg}\n`);
    return 1;
  }
  const reader = await RecordBatchReader.from(res.body as unknown as AsyncIterable<Uint8Array>);
  await reader.open();
  await pipeResult(p.format as Format, reader.schema, reader as AsyncIterable<never>, stdoutSink());
  return 0;
}

export async function queryCommand(f: QueryFlags): Promise<number> {
  const p = parseQueryFlags(f);
  if (f.url !== undefined) return queryHttp(f.url, f, p);
  if (f.config !== undefined) return queryCold(f.config, f, p);
  throw new UsageError('query needs --url http://host:port (a running kice) or -c <kice.yaml>');
}

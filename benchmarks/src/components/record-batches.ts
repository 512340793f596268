/**
 * Component benchmark: Kafka record-batch parsing on one thread (parseRecordBatches, as a
 * worker would run it on a fetched partition), per codec, on the benchmark's own events.
 *
 * The batches are framed by kafkajs's record-batch encoder (not kice's), 500 events a
 * batch, enough batches for one ~1 MB-per-codec "fetch"; none, gzip, snappy and lz4 use the
 * codecs kice registers for kafkajs, zstd compresses through the venv python's `zstandard`
 * (no JS zstd compressor is a dependency): when that module is missing the zstd row is
 * left out. Also measured: the CRC-32C alone, in MB/s, the one the parser uses and the
 * TypeScript fallback.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import {
  crc32c,
  crc32cImplementation,
  crc32cJs,
} from '../../../packages/core/src/source/batches/crc32c.ts';
import { parseRecordBatches } from '../../../packages/core/src/source/batches/parse.ts';
import { registerCodecs } from '../../../packages/core/src/source/codecs.ts';
import { eventBytes } from '../data.ts';
import { round } from '../systems/common.ts';

export interface RecordBatchCodecResult {
  readonly codec: string;
  readonly rowsPerSecond: number;
  /** Megabytes (10^6) of record values produced per second. */
  readonly valueMbPerSecond: number;
  /** Fetched (possibly compressed) bytes / value bytes. */
  readonly wireToValueRatio: number;
}

export interface RecordBatchResult {
  readonly batchRows: number;
  readonly fetchRows: number;
  readonly codecs: readonly RecordBatchCodecResult[];
  /** The CRC-32C the parser used (native @node-rs/crc32, or the TypeScript fallback). */
  readonly crc32c: 'native' | 'js';
  readonly crc32cMbPerSecond: number;
  readonly crc32cJsMbPerSecond: number;
  readonly notes: readonly string[];
}

const require = createRequire(import.meta.url);
type Encode = (o: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
const { RecordBatch: encodeBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: Encode;
};
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (
  o: Record<string, unknown>,
) => unknown;
const Long = require('kafkajs/src/utils/long.js') as { fromValue(v: number): unknown };

const ZSTD_PY =
  'import sys, zstandard; sys.stdout.buffer.write(zstandard.ZstdCompressor(level=3).compress(sys.stdin.buffer.read()))';

/** A kafkajs codec table entry that compresses zstd through the venv python, or undefined without zstandard. */
function pythonZstd(python: string): (typeof kafkajs.CompressionCodecs)[4] | undefined {
  try {
    execFileSync(python, ['-c', 'import zstandard'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return () => ({
    compress: async (encoder: { buffer: Buffer }) =>
      execFileSync(python, ['-c', ZSTD_PY], { input: encoder.buffer, maxBuffer: 1 << 28 }),
    decompress: async () => {
      throw new Error('not used');
    },
  });
}

/** `rows` events framed in batches of `batchRows`, concatenated, in shared memory. */
async function fetchOf(rows: number, batchRows: number, compression: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (let first = 0; first < rows; first += batchRows) {
    const n = Math.min(batchRows, rows - first);
    const records = Array.from({ length: n }, (_, d) =>
      encodeRecord({
        offsetDelta: d,
        timestampDelta: d,
        key: Buffer.from(`user-${(first + d) % 1000}`),
        value: eventBytes(first + d),
        headers: {},
      }),
    );
    const batch = await encodeBatch({
      compression,
      firstOffset: Long.fromValue(first),
      firstTimestamp: t0 + first,
      maxTimestamp: t0 + first + n - 1,
      lastOffsetDelta: n - 1,
      records,
    });
    parts.push(batch.buffer);
  }
  const all = Buffer.concat(parts);
  const shared = new Uint8Array(new SharedArrayBuffer(all.length));
  shared.set(all);
  return shared;
}

/** Seconds per call of `fn`, repeated for at least `minSeconds` after one warm-up call. */
function timeIt(fn: () => void, minSeconds: number): number {
  fn();
  let calls = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    fn();
    calls++;
    elapsed = (performance.now() - t0) / 1000;
  } while (elapsed < minSeconds);
  return elapsed / calls;
}

/** Parses a ~1 MB-of-values fetch per codec for ≥ `minSeconds` each. */
export async function benchRecordBatches(
  python: string | undefined,
  minSeconds: number,
  batchRows = 500,
  fetchRows = 3000,
): Promise<RecordBatchResult> {
  registerCodecs();
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  const notes: string[] = [];
  const zstd = python ? pythonZstd(python) : undefined;
  if (zstd) CompressionCodecs[CompressionTypes.ZSTD] = zstd;
  else notes.push('zstd left out: the venv python has no zstandard module to compress with');
  const codecs: [string, number][] = [
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ...(zstd ? ([['zstd', CompressionTypes.ZSTD]] as [string, number][]) : []),
  ];
  const out: RecordBatchCodecResult[] = [];
  let crcInput: Uint8Array = new Uint8Array(0);
  for (const [codec, type] of codecs) {
    const data = await fetchOf(fetchRows, batchRows, type);
    if (codec === 'none') crcInput = data;
    let valueBytes = 0;
    const sec = timeIt(() => {
      const r = parseRecordBatches({
        topic: 'bench',
        partition: 0,
        data,
        fetchOffset: 0n,
        isolation: 'read_committed',
      });
      if (r.records?.count !== fetchRows)
        throw new Error(`parsed ${r.records?.count} of ${fetchRows} rows`);
      valueBytes = r.records.bytes.byteLength;
    }, minSeconds);
    out.push({
      codec,
      rowsPerSecond: Math.round(fetchRows / sec),
      valueMbPerSecond: round(valueBytes / 1e6 / sec, 1),
      wireToValueRatio: round(data.byteLength / valueBytes, 3),
    });
  }
  const crcSec = timeIt(() => crc32c(crcInput), minSeconds);
  const crcJsSec = timeIt(() => crc32cJs(crcInput), minSeconds);
  return {
    batchRows,
    fetchRows,
    codecs: out,
    crc32c: crc32cImplementation,
    crc32cMbPerSecond: round(crcInput.byteLength / 1e6 / crcSec, 0),
    crc32cJsMbPerSecond: round(crcInput.byteLength / 1e6 / crcJsSec, 0),
    notes,
  };
}

/** The report line. */
export function formatRecordBatches(r: RecordBatchResult): string {
  const rows = r.codecs
    .map(
      (c) =>
        `${c.codec} ${c.rowsPerSecond.toLocaleString('en-US')} rows/s (${c.valueMbPerSecond} MB/s of values, wire ${c.wireToValueRatio} × values)`,
    )
    .join('; ');
  const notes = r.notes.length > 0 ? ` (${r.notes.join('; ')})` : '';
  return `components (one thread, ${r.batchRows}-record batches): Kafka record-batch parsing ${rows}; CRC-32C (${r.crc32c}) ${r.crc32cMbPerSecond} MB/s, TypeScript fallback ${r.crc32cJsMbPerSecond} MB/s${notes}`;
}

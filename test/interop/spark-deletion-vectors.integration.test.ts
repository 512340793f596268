/**
 * Iceberg v3 deletion vectors, kice's Puffin / deletion-vector-v1 codec against Java
 * (Apache Spark 4.0 with the Iceberg 1.10.1 runtime):
 * - Spark creates a format-version 3 table with write.delete.mode=merge-on-read, inserts
 *   one data file of 12 × 65536 rows (row position = id) and DELETEs rows chosen so that
 *   the DV's 32-bit containers sit at Java's container-choice boundaries (array vs run at
 *   the tie, array vs bitmap at 4096 values, bitmap vs run at 2047 runs) besides plainly
 *   dense, sparse and run-shaped ones. kice reads the Puffin file Spark wrote (footer and
 *   blob) and decodes exactly the positions Spark reports for the predicate
 *   (`SELECT _pos … WHERE <predicate>` before the DELETE).
 * - The other direction: kice's encoder, given those positions, writes Spark's blob byte
 *   for byte, and kice's Puffin writer (given Java's created-by) Spark's whole file.
 * - A second DELETE on the same file makes Java merge the old DV into a new one; kice
 *   decodes the union.
 * - PyIceberg and DuckDB (the versions of test/infra/requirements.txt) apply Spark's DV.
 * - Java (PositionDeleteIndex.deserialize through the spark server's `java-dv` op)
 *   decodes DVs kice wrote for positions Spark cannot produce (several buckets, past
 *   2^32) and serializes them back to the same bytes.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeletionVector,
  decodeDeletionVector,
  deletionVectorBlob,
  deletionVectorFromBlob,
  encodeDeletionVector,
  LocalFileIO,
  type PuffinBlobMetadata,
  parsePuffin,
  puffinBlobData,
  ROW_POSITION_FIELD_ID,
  readDeletionVector,
  readPuffinFooter,
  toLocalPath,
  writePuffin,
} from '@kice/iceberg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duckdbQuery, pyicebergRows, type Row } from '../support/readers.ts';
import { sparkBatch } from '../support/spark.ts';
import { newWarehouse } from './helpers.ts';

const warehouse = await newWarehouse('spark-dv');
afterAll(() => warehouse.cleanup());
const io = new LocalFileIO();

const CHUNK = 65536;
const ROWS = 12 * CHUNK;

/**
 * Per 65536-row chunk (the 32-bit Roaring container of those positions): which rows the
 * first DELETE removes (by `low`, the position within the chunk), and the container Java
 * is expected to choose (add, then runOptimize).
 */
const CHUNKS: { sql: string; keep: (low: number) => boolean; kind: string }[] = [
  { sql: 'low < 3', keep: (l) => l < 3, kind: 'array' }, // run 6 bytes = array 6
  { sql: 'low < 4', keep: (l) => l < 4, kind: 'run' }, // run 6 < array 8
  { sql: 'low < 8192 AND low % 2 = 0', keep: (l) => l < 8192 && l % 2 === 0, kind: 'array' }, // 4096
  { sql: 'low < 8194 AND low % 2 = 0', keep: (l) => l < 8194 && l % 2 === 0, kind: 'bitmap' }, // 4097
  { sql: 'low < 8188 AND low % 4 < 3', keep: (l) => l < 8188 && l % 4 < 3, kind: 'run' }, // 2047 runs
  { sql: 'low < 8192 AND low % 4 < 3', keep: (l) => l < 8192 && l % 4 < 3, kind: 'bitmap' }, // 2048 runs
  { sql: 'true', keep: () => true, kind: 'run' }, // the whole chunk
  { sql: 'low % 7 = 0', keep: (l) => l % 7 === 0, kind: 'bitmap' }, // dense
  { sql: 'low % 1000 = 3', keep: (l) => l % 1000 === 3, kind: 'array' }, // sparse
  { sql: 'low BETWEEN 100 AND 20000', keep: (l) => l >= 100 && l <= 20000, kind: 'run' },
  { sql: 'false', keep: () => false, kind: '' }, // no container
  { sql: 'low = 65535', keep: (l) => l === 65535, kind: 'array' },
];
const LOW = '(id & 65535)';
const FIRST_DELETE = CHUNKS.map(
  (c, i) => `(shiftright(id, 16) = ${i} AND (${c.sql.replaceAll('low', LOW)}))`,
).join(' OR ');
/** The second DELETE: more rows of chunk 10 (empty so far) and of chunk 0. */
const SECOND_DELETE = `(shiftright(id, 16) = 10 AND ${LOW} % 5 = 0) OR id IN (10, 11)`;

const expectedFirst: number[] = [];
CHUNKS.forEach((c, i) => {
  for (let low = 0; low < CHUNK; low++) if (c.keep(low)) expectedFirst.push(i * CHUNK + low);
});

interface SparkDv {
  readonly puffinPath: string;
  readonly puffinSize: number;
  readonly offset: number;
  readonly size: number;
  readonly row: Row;
}

const sql = (text: string) => ({ op: 'sql' as const, warehouse: warehouse.dir, sql: text });
const DELETE_FILES_SQL = 'SELECT * FROM {k}.db.t.delete_files';

function toDv(row: Row): SparkDv {
  return {
    puffinPath: row.file_path as string,
    puffinSize: Number(row.file_size_in_bytes),
    offset: Number(row.content_offset),
    size: Number(row.content_size_in_bytes),
    row,
  };
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The container kinds of bucket 0 of a DV blob, by container key. */
function bucket0Kinds(blob: Uint8Array): Record<number, string> {
  // Re-encoding is not involved: the kinds come from parsing Spark's bytes. The 32-bit
  // bitmap of bucket 0 starts after length, magic, bucket count and key (20 bytes).
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  expect(view.getUint32(8, true)).toBe(1); // one bucket
  const at = 20;
  const cookie = view.getUint32(at, true);
  expect(cookie & 0xffff).toBe(12347); // has run containers
  const count = (cookie >>> 16) + 1;
  const flags = blob.subarray(at + 4, at + 4 + ((count + 7) >> 3));
  const desc = at + 4 + flags.length;
  const out: Record<number, string> = {};
  for (let i = 0; i < count; i++) {
    const key = view.getUint16(desc + 4 * i, true);
    const card = view.getUint16(desc + 4 * i + 2, true) + 1;
    const run = ((flags[i >> 3] as number) & (1 << (i & 7))) !== 0;
    out[key] = run ? 'run' : card <= 4096 ? 'array' : 'bitmap';
  }
  return out;
}

let dataFile = '';
let spark1: SparkDv;
let spark2: SparkDv;
let sparkPositions: number[] = [];
let secondPositions: number[] = [];
let liveDeleteFiles: Row[] = [];

describe('deletion vectors: kice and Spark (Java) agree byte for byte', () => {
  beforeAll(async () => {
    const results = await sparkBatch([
      sql('CREATE NAMESPACE {k}.db'),
      sql(`CREATE TABLE {k}.db.t (id bigint NOT NULL) USING iceberg
           TBLPROPERTIES ('format-version' = '3', 'write.delete.mode' = 'merge-on-read')`),
      sql(`INSERT INTO {k}.db.t SELECT id FROM range(0, ${ROWS})`),
      sql('SELECT file_path, record_count FROM {k}.db.t.data_files'),
      sql('SELECT count(*) AS n FROM {k}.db.t WHERE _pos <> id'),
      sql(`SELECT _pos FROM {k}.db.t WHERE ${FIRST_DELETE} ORDER BY _pos`),
      sql(`DELETE FROM {k}.db.t WHERE ${FIRST_DELETE}`),
      sql(DELETE_FILES_SQL),
      sql(`SELECT _pos FROM {k}.db.t WHERE ${SECOND_DELETE} ORDER BY _pos`),
      sql(`DELETE FROM {k}.db.t WHERE ${SECOND_DELETE}`),
      sql(DELETE_FILES_SQL),
    ]);
    const [files, misplaced, pos1, , dv1, pos2, , dv2] = results.slice(3) as Row[][];
    expect(files).toHaveLength(1);
    expect((files as Row[])[0]?.record_count).toBe(BigInt(ROWS));
    expect((misplaced as Row[])[0]?.n).toBe(0n); // row position = id throughout the file
    dataFile = (files as Row[])[0]?.file_path as string;
    sparkPositions = (pos1 as Row[]).map((r) => Number(r._pos));
    secondPositions = (pos2 as Row[]).map((r) => Number(r._pos));
    expect(dv1).toHaveLength(1);
    spark1 = toDv((dv1 as Row[])[0] as Row);
    liveDeleteFiles = dv2 as Row[];
    spark2 = toDv((dv2 as Row[])[0] as Row);
  });

  it("Spark's positions for the predicate are the ones the test means", () => {
    expect(sparkPositions).toEqual(expectedFirst);
    expect(secondPositions).toEqual([
      10,
      11,
      ...Array.from({ length: Math.floor(CHUNK / 5) + 1 }, (_, k) => 10 * CHUNK + 5 * k),
    ]);
  });

  it('the manifest entry of the DV: content 1, PUFFIN, referenced file, offset and size of the blob', () => {
    const r = spark1.row;
    expect(r.content).toBe(1);
    expect(r.file_format).toBe('PUFFIN');
    expect(r.referenced_data_file).toBe(dataFile);
    expect(r.record_count).toBe(BigInt(expectedFirst.length));
    expect(spark1.offset).toBe(4); // the first blob, right after the magic
    // Java records no column metrics for a DV.
    for (const k of [
      'column_sizes',
      'value_counts',
      'null_value_counts',
      'lower_bounds',
      'upper_bounds',
    ]) {
      expect(r[k]).toBeNull();
    }
  });

  it("kice reads Spark's Puffin footer: the blob metadata Java writes for a DV", async () => {
    const footer = await readPuffinFooter(io, spark1.puffinPath, spark1.puffinSize);
    expect(footer.fileSize).toBe(spark1.puffinSize);
    expect(footer.metadata.blobs).toEqual([
      {
        type: 'deletion-vector-v1',
        fields: [ROW_POSITION_FIELD_ID],
        snapshotId: -1n,
        sequenceNumber: -1n,
        offset: spark1.offset,
        length: spark1.size,
        properties: {
          'referenced-data-file': dataFile,
          cardinality: String(expectedFirst.length),
        },
      },
    ]);
    expect(ROW_POSITION_FIELD_ID).toBe(2147483645);
    expect(Object.keys(footer.metadata.properties)).toEqual(['created-by']);
    expect(footer.metadata.properties['created-by']).toMatch(
      /^Apache Iceberg 1\.10\.1 \(commit [0-9a-f]{40}\)$/,
    );
  });

  it('kice decodes exactly the positions Spark deleted', async () => {
    const dv = await readDeletionVector(io, {
      filePath: spark1.puffinPath,
      contentOffset: spark1.offset,
      contentSizeInBytes: spark1.size,
      recordCount: spark1.row.record_count as bigint,
    });
    expect(dv.cardinality).toBe(sparkPositions.length);
    expect(Array.from(dv.positions())).toEqual(sparkPositions);
    for (const p of [3, CHUNK + 4, 2 * CHUNK + 1, 10 * CHUNK, 11 * CHUNK + 65534, ROWS]) {
      expect(dv.has(p)).toBe(false);
    }
    // Through the footer too, with its metadata checked.
    const file = new Uint8Array(await readFile(toLocalPath(spark1.puffinPath)));
    const meta = parsePuffin(file).metadata.blobs[0] as PuffinBlobMetadata;
    const again = deletionVectorFromBlob(meta, puffinBlobData(file, meta), dataFile);
    expect(Array.from(again.positions())).toEqual(sparkPositions);
  });

  it('Java chose the containers the test expects (its choice at the boundaries)', async () => {
    const file = new Uint8Array(await readFile(toLocalPath(spark1.puffinPath)));
    const blob = file.subarray(spark1.offset, spark1.offset + spark1.size);
    const expected: Record<number, string> = {};
    CHUNKS.forEach((c, i) => {
      if (c.kind) expected[i] = c.kind;
    });
    expect(bucket0Kinds(blob)).toEqual(expected);
  });

  it("kice's encoder writes Spark's DV blob byte for byte, and kice's Puffin writer Spark's file", async () => {
    const file = new Uint8Array(await readFile(toLocalPath(spark1.puffinPath)));
    const sparkBlob = file.subarray(spark1.offset, spark1.offset + spark1.size);
    expect(toHex(encodeDeletionVector(sparkPositions))).toBe(toHex(sparkBlob));
    const createdBy = parsePuffin(file).metadata.properties['created-by'] as string;
    const ours = writePuffin([deletionVectorBlob(dataFile, sparkPositions)], {
      properties: { 'created-by': createdBy },
    });
    expect(ours.bytes.length).toBe(file.length);
    expect(toHex(ours.bytes)).toBe(toHex(file));
  });

  it('after a second DELETE Java merges the DVs into one; kice decodes the union', async () => {
    expect(liveDeleteFiles).toHaveLength(1); // the first DV was replaced
    expect(spark2.puffinPath).not.toBe(spark1.puffinPath);
    expect(spark2.row.referenced_data_file).toBe(dataFile);
    const union = [...new Set([...sparkPositions, ...secondPositions])].sort((a, b) => a - b);
    const dv = await readDeletionVector(io, {
      filePath: spark2.puffinPath,
      contentOffset: spark2.offset,
      contentSizeInBytes: spark2.size,
      recordCount: spark2.row.record_count as bigint,
    });
    expect(Array.from(dv.positions())).toEqual(union);
    const file = new Uint8Array(await readFile(toLocalPath(spark2.puffinPath)));
    const sparkBlob = file.subarray(spark2.offset, spark2.offset + spark2.size);
    // Java's merge ORs the old (deserialized) bitmap into the new one and run-optimizes
    // again; for these positions the result is what kice writes from scratch.
    expect(toHex(encodeDeletionVector(union))).toBe(toHex(sparkBlob));
  });

  it("PyIceberg and DuckDB apply Spark's (merged) DV", async () => {
    const dir = join(warehouse.dir, 'db/t/metadata');
    const version = (await readFile(join(dir, 'version-hint.text'), 'utf8')).trim();
    const metadata = join(dir, `v${version}.metadata.json`);
    const deleted = new Set([...sparkPositions, ...secondPositions]);
    let sum = 0n;
    for (let id = 0; id < ROWS; id++) if (!deleted.has(id)) sum += BigInt(id);
    const [duck] = await duckdbQuery(
      metadata,
      'SELECT count(*) AS n, CAST(sum(id) AS BIGINT) AS s FROM {t}',
    );
    expect(duck).toEqual({ n: BigInt(ROWS - deleted.size), s: sum });
    // PyIceberg, row by row for chunk 0 (row position = id).
    const rows = await pyicebergRows(metadata, { filter: `id < ${CHUNK}` });
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: CHUNK }, (_, i) => i).filter((i) => !deleted.has(i)));
  });

  it('Java decodes DVs kice wrote for positions past 2^32 (several buckets, gaps) and the empty DV', async () => {
    const TWO_32 = 2 ** 32;
    const sets: number[][] = [
      [],
      [
        0,
        TWO_32 - 1,
        TWO_32,
        ...Array.from({ length: 5000 }, (_, i) => TWO_32 + 70_000 + i), // run
        ...Array.from({ length: 6000 }, (_, i) => 3 * TWO_32 + 3 * i), // bitmap
        7 * TWO_32 + 65_535,
      ],
    ];
    const blobs = sets.map((positions) => encodeDeletionVector(positions));
    const results = await sparkBatch(
      sets.map((positions, i) => ({
        op: 'java-dv' as const,
        blob: toHex(blobs[i] as Uint8Array),
        positions: positions.map(String),
        referenced: `${warehouse.dir}/data/f${i}.parquet`,
      })),
    );
    results.forEach((rows, i) => {
      const r = (rows as Row[])[0] as Row;
      expect(r.cardinality).toBe(BigInt((sets[i] as number[]).length));
      expect(r.missing).toEqual([]);
      expect(toHex(r.serialized as Uint8Array)).toBe(toHex(blobs[i] as Uint8Array));
    });
    // And kice reads back what Java serialized.
    const back = decodeDeletionVector((results[1] as Row[])[0]?.serialized as Uint8Array);
    expect(Array.from(back.positions())).toEqual(sets[1]);
    expect(DeletionVector.of(sets[1] as number[]).cardinality).toBe((sets[1] as number[]).length);
  });
});

/**
 * Every column of every row, checked in bulk: a per-row hash of all column values, computed
 * by PyIceberg over the whole table (test/support/verify.py `hashes`) and here over the
 * produced events, then compared id by id. A row that is missing, present twice, present
 * but not produced, or different in any column (nested ones included) is reported by id.
 *
 * Both sides hash the same canonical encoding of a value (`canonical`, mirrored by
 * verify.py's `canon`):
 *   null            n              (struct fields and top-level columns that are null are
 *                                   left out, as a JSON key that is absent)
 *   boolean         t | f
 *   number          i<decimal>;    for a whole number of magnitude < 2^53 (a double column
 *                                   holding 12.0 equals the event's JSON `12`), else
 *                   d<16 hex>;     the IEEE-754 bits, big-endian
 *   bigint          i<decimal>;    (longs, timestamps as µs, dates as days)
 *   string          s<utf8 bytes>:<utf8>
 *   bytes           b<n>:<bytes>
 *   array           l<n>[<items>]
 *   Map             m<n>{<key><value>…}   entries sorted by the key's encoding
 *   object          o<n>{<key><value>…}   keys sorted by their UTF-8 bytes
 * The row hash is the first 16 bytes of the SHA-256 of the row's encoding (as an object).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERIFY_PY } from './kice-process.ts';
import { runPython } from './readers.ts';

const TWO_53 = 2 ** 53;

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The canonical encoding of `v` (see the module comment), as a string to be UTF-8 encoded. */
export function canonical(v: unknown): string {
  if (v === null || v === undefined) return 'n';
  switch (typeof v) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'bigint':
      return `i${v};`;
    case 'number': {
      if (Number.isInteger(v) && Math.abs(v) < TWO_53) return `i${BigInt(v)};`;
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, v, false);
      return `d${Buffer.from(dv.buffer).toString('hex')};`;
    }
    case 'string':
      return `s${Buffer.byteLength(v, 'utf8')}:${v}`;
    case 'object':
      break;
    default:
      throw new Error(`canonical: cannot encode a ${typeof v}`);
  }
  if (v instanceof Uint8Array) return `b${v.length}:${Buffer.from(v).toString('latin1')}`;
  if (Array.isArray(v)) return `l${v.length}[${v.map(canonical).join('')}]`;
  if (v instanceof Map) {
    const entries = [...v].map(([k, x]) => [canonical(k), canonical(x)] as const);
    entries.sort((a, b) => compareUtf8(a[0], b[0]));
    return `m${entries.length}{${entries.map(([k, x]) => k + x).join('')}}`;
  }
  if (v instanceof Date) throw new Error('canonical: pass timestamps as bigint µs, not Date');
  const keys = Object.keys(v)
    .filter((k) => (v as Record<string, unknown>)[k] != null)
    .sort(compareUtf8);
  const body = keys.map((k) => canonical(k) + canonical((v as Record<string, unknown>)[k]));
  return `o${keys.length}{${body.join('')}}`;
}

/** The row hash (hex of 16 bytes) of a row given as a plain object. */
export function rowHash(row: Record<string, unknown>): string {
  return createHash('sha256')
    .update(Buffer.from(canonical(row), 'utf8'))
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

/** Where PyIceberg loads the table from: a metadata file, or a table name through a REST catalog. */
export interface TableSource {
  /** A REST catalog URI: the location is then a table name (`ns.table`) loaded through it. */
  readonly rest?: string;
}

/**
 * Id → row hashes (hex) of every row of a table as PyIceberg reads it (`location` is a
 * metadata file, or with `source.rest` a table name).
 */
export async function tableRowHashes(
  location: string,
  idColumn: string,
  source: TableSource = {},
): Promise<Map<number, string[]>> {
  const dir = await mkdtemp(join(tmpdir(), 'kice-row-hashes-'));
  try {
    const file = join(dir, 'hashes.bin');
    await runPython([
      VERIFY_PY,
      'hashes',
      location,
      idColumn,
      file,
      ...(source.rest === undefined ? [] : ['--rest', source.rest]),
    ]);
    const buf = await readFile(file);
    const out = new Map<number, string[]>();
    for (let at = 0; at + 24 <= buf.length; at += 24) {
      const id = Number(buf.readBigInt64LE(at));
      const hash = buf.subarray(at + 8, at + 24).toString('hex');
      const list = out.get(id);
      if (list) list.push(hash);
      else out.set(id, [hash]);
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How a table's rows compare with the produced ones; id lists hold at most `SAMPLE` ids. */
export interface RowCheck {
  /** Rows in the table. */
  readonly rows: number;
  /** Produced ids found exactly once with every column equal. */
  readonly matching: number;
  /** Counts of the kinds of mismatch (all of them, not only the sampled ids). */
  readonly missingCount: number;
  readonly duplicatedCount: number;
  readonly differingCount: number;
  readonly unexpectedCount: number;
  /** Produced ids not in the table. */
  readonly missing: number[];
  /** Ids in the table more than once. */
  readonly duplicated: number[];
  /** Ids found once whose columns differ from what was produced. */
  readonly differing: number[];
  /** Ids in the table that were not produced. */
  readonly unexpected: number[];
}

/** At most this many ids of each kind are listed in a RowCheck. */
export const SAMPLE = 20;

/**
 * Compares every row of the table at `location` (a metadata file, or with `source.rest` a
 * table name) with `expected(id)` for each produced id (the row PyIceberg should return,
 * as a plain object: timestamps as bigint µs).
 */
export async function checkRows(
  location: string,
  idColumn: string,
  ids: Iterable<number>,
  expected: (id: number) => Record<string, unknown>,
  source: TableSource = {},
): Promise<RowCheck> {
  const table = await tableRowHashes(location, idColumn, source);
  let rows = 0;
  for (const hashes of table.values()) rows += hashes.length;
  const missing: number[] = [];
  const duplicated: number[] = [];
  const differing: number[] = [];
  let missingCount = 0;
  let duplicatedCount = 0;
  let differingCount = 0;
  let matching = 0;
  const produced = new Set<number>();
  const note = (list: number[], id: number): void => {
    if (list.length < SAMPLE) list.push(id);
  };
  for (const id of ids) {
    produced.add(id);
    const got = table.get(id);
    if (got === undefined) {
      missingCount++;
      note(missing, id);
    } else if (got.length > 1) {
      duplicatedCount++;
      note(duplicated, id);
    } else if (got[0] !== rowHash(expected(id))) {
      differingCount++;
      note(differing, id);
    } else {
      matching++;
    }
  }
  const unexpected: number[] = [];
  let unexpectedCount = 0;
  for (const id of table.keys()) {
    if (produced.has(id)) continue;
    unexpectedCount++;
    note(unexpected, id);
  }
  return {
    rows,
    matching,
    missingCount,
    duplicatedCount,
    differingCount,
    unexpectedCount,
    missing,
    duplicated,
    differing,
    unexpected,
  };
}

/** The RowCheck of a table holding exactly the `n` produced rows, each once and equal. */
export function allRowsMatch(n: number): RowCheck {
  return {
    rows: n,
    matching: n,
    missingCount: 0,
    duplicatedCount: 0,
    differingCount: 0,
    unexpectedCount: 0,
    missing: [],
    duplicated: [],
    differing: [],
    unexpected: [],
  };
}

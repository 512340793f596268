/**
 * The dead-letter table protocol's summary records (src/commit/dead-letter-files.ts): data
 * files survive the JSON round trip with every metric, and the pending set is exactly the
 * source snapshots above the marker that name this dead-letter table.
 */
import { type DataFile, newTableMetadata, type TableMetadata } from '@kice/iceberg';
import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTERS_PROPERTY,
  deadLettersValue,
  decodeDataFile,
  encodeDataFile,
  pendingDeadLetters,
} from '../../src/commit/dead-letter-files.ts';
import { DEAD_LETTER_SCHEMA } from '../../src/pipeline/dead-letter-rows.ts';

const file = (n: number): DataFile => ({
  content: 0,
  filePath: `file:///w/ns/dlq/data/${n}.parquet`,
  fileFormat: 'PARQUET',
  specId: 0,
  partition: [],
  recordCount: n,
  fileSizeInBytes: 1000 + n,
  columnSizes: new Map([[1, 10]]),
  valueCounts: new Map([[1, n]]),
  nullValueCounts: new Map([[1, 0]]),
  lowerBounds: new Map([[1, new Uint8Array([0, 255])]]),
  upperBounds: new Map([[1, new Uint8Array([7])]]),
  splitOffsets: [4],
});

describe('dead-letter files in snapshot summaries', () => {
  it('round-trips a data file through JSON with its metrics', () => {
    const f = file(3);
    expect(decodeDataFile(JSON.parse(JSON.stringify(encodeDataFile(f))))).toEqual(f);
  });

  it('pends the files of snapshots above the marker that name this table, oldest first', () => {
    const base = newTableMetadata({
      location: 'file:///w/ns/events',
      schema: DEAD_LETTER_SCHEMA,
    }) as TableMetadata;
    const snap = (seq: number, summary: Record<string, string>) => ({
      snapshotId: BigInt(seq),
      ...(seq > 1 ? { parentSnapshotId: BigInt(seq - 1) } : {}),
      sequenceNumber: seq,
      timestampMs: seq,
      manifestList: `m${seq}`,
      summary: { operation: 'append', ...summary },
      schemaId: 0,
    });
    const m = {
      ...base,
      snapshots: [
        snap(1, { [DEAD_LETTERS_PROPERTY]: deadLettersValue('ns.dlq', [file(1)]) }),
        snap(2, { [DEAD_LETTERS_PROPERTY]: deadLettersValue('ns.other', [file(2)]) }),
        snap(3, {}),
        snap(4, { [DEAD_LETTERS_PROPERTY]: deadLettersValue('ns.dlq', [file(4), file(5)]) }),
        snap(5, { [DEAD_LETTERS_PROPERTY]: deadLettersValue('ns.dlq', [file(6)]) }),
      ],
      currentSnapshotId: 5n,
      lastSequenceNumber: 5,
    } as TableMetadata;
    const paths = (absorbed: number) => {
      const p = pendingDeadLetters(m, 'ns.dlq', absorbed);
      return [p.files.map((f) => f.recordCount), p.upTo, p.snapshots];
    };
    expect(paths(0)).toEqual([[1, 4, 5, 6], 5, 3]);
    expect(paths(1)).toEqual([[4, 5, 6], 5, 2]);
    expect(paths(4)).toEqual([[6], 5, 1]);
    expect(paths(5)).toEqual([[], 5, 0]);
    // The oldest snapshot still naming pending files (snapshot expiry keeps it).
    expect(pendingDeadLetters(m, 'ns.dlq', 1).oldestMs).toBe(4);
    expect(pendingDeadLetters(m, 'ns.dlq', 5).oldestMs).toBeUndefined();
  });

  it('a value it cannot read is reported, not a wall: the other snapshots are absorbed', () => {
    const base = newTableMetadata({
      location: 'file:///w/ns/events',
      schema: DEAD_LETTER_SCHEMA,
    }) as TableMetadata;
    const snap = (id: number, seq: number, summary: Record<string, string>) => ({
      snapshotId: BigInt(id),
      ...(id > 1 ? { parentSnapshotId: BigInt(id - 1) } : {}),
      sequenceNumber: seq,
      timestampMs: id,
      manifestList: `m${id}`,
      summary: { operation: 'append', ...summary },
      schemaId: 0,
    });
    const m = {
      ...base,
      snapshots: [
        // Written while the table was format v1: no sequence number (reads as 0).
        snap(1, 0, {}),
        snap(2, 1, { [DEAD_LETTERS_PROPERTY]: deadLettersValue('ns.dlq', [file(1)]) }),
        snap(3, 2, { [DEAD_LETTERS_PROPERTY]: '{"table":"ns.dlq","files":[{"pa' }),
        snap(4, 3, { [DEAD_LETTERS_PROPERTY]: deadLettersValue('ns.dlq', [file(2)]) }),
      ],
      currentSnapshotId: 4n,
      lastSequenceNumber: 3,
    } as TableMetadata;
    const p = pendingDeadLetters(m, 'ns.dlq', 0);
    expect(p.files.map((f) => f.recordCount)).toEqual([1, 2]);
    expect(p.unreadable).toEqual(['3']);
    expect(p.upTo).toBe(3);
  });
});

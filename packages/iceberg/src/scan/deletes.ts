/**
 * Position delete files in a scan: which delete files apply to a data file, and the row
 * positions they delete from it.
 *
 * Spec: https://iceberg.apache.org/spec/#position-delete-files and
 * https://iceberg.apache.org/spec/#scan-planning
 * - A position delete file (content 1) holds rows (file_path string, id 2147483546;
 *   pos long, id 2147483545; an optional `row` struct, id 2147483544, ignored here): the
 *   row at 0-based position `pos` of the data file at `file_path` is deleted.
 * - It applies to a data file when the data file's data sequence number is less than or
 *   equal to the delete file's, and the data file's partition equals the delete file's
 *   (or the delete file's spec is unpartitioned). `file_path` names the data file exactly,
 *   so a delete row can only hit the file it names: matching by path and sequence number
 *   is the whole rule here; partitions and the file_path bounds only save reading files.
 * - Data sequence numbers of entries that carry none are inherited from the manifest's
 *   (ADDED entries of the snapshot that wrote the manifest).
 * Equality delete files (content 2) are not supported: a scan that meets one fails.
 */
import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import type { DataFile, ManifestEntry, ManifestFile } from '../spec/manifest.ts';
import type { Schema } from '../spec/types.ts';
import { fromBytes } from '../spec/values.ts';
import { arrowTableToRows, readParquet } from './read-parquet.ts';

/** Reserved field IDs of a position delete file's columns. */
export const DELETE_FILE_PATH_ID = 2147483546;
export const DELETE_POS_ID = 2147483545;

/** The columns a scan reads from a position delete file. */
export const POSITION_DELETE_SCHEMA: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: DELETE_FILE_PATH_ID, name: 'file_path', required: true, type: 'string' },
    { id: DELETE_POS_ID, name: 'pos', required: true, type: 'long' },
  ],
};

/** A live delete file of the snapshot with its data sequence number. */
export interface DeleteFileEntry {
  readonly file: DataFile;
  readonly sequenceNumber: number;
}

/** The data sequence number of a live entry (inherited from the manifest when null). */
export function dataSequenceNumber(e: ManifestEntry, mf: ManifestFile): number {
  return e.sequenceNumber ?? mf.sequenceNumber;
}

/**
 * Position delete files of a snapshot, found by the data file path they may reference:
 * files whose file_path bounds are one path are filed under it; the others are checked
 * for every data file.
 */
export class PositionDeleteIndex {
  private readonly byPath = new Map<string, DeleteFileEntry[]>();
  private readonly general: DeleteFileEntry[] = [];
  private count = 0;

  /** Adds a live entry of a delete manifest. */
  add(file: DataFile, sequenceNumber: number): void {
    if (file.content === 2) {
      throw new IcebergError(
        'UNSUPPORTED',
        `equality delete files are not supported yet: ${file.filePath}`,
      );
    }
    if (file.content !== 1) {
      throw new IcebergError(
        'INVALID_METADATA',
        `a delete manifest lists a data file (content ${file.content}): ${file.filePath}`,
      );
    }
    const entry = { file, sequenceNumber };
    this.count++;
    const lo = file.lowerBounds?.get(DELETE_FILE_PATH_ID);
    const hi = file.upperBounds?.get(DELETE_FILE_PATH_ID);
    if (lo && hi) {
      const low = fromBytes('string', lo) as string;
      if (low === (fromBytes('string', hi) as string)) {
        const list = this.byPath.get(low);
        if (list) list.push(entry);
        else this.byPath.set(low, [entry]);
        return;
      }
    }
    this.general.push(entry);
  }

  get size(): number {
    return this.count;
  }

  /** The delete files that apply to a data file of data sequence number `seq`. */
  forDataFile(path: string, seq: number): DataFile[] {
    const out: DataFile[] = [];
    for (const list of [this.byPath.get(path) ?? [], this.general]) {
      for (const d of list) if (d.sequenceNumber >= seq) out.push(d.file);
    }
    return out;
  }
}

/**
 * Reads position delete files for one scan, each file once: its rows grouped by the data
 * file they name.
 */
export class PositionDeleteReader {
  private readonly files = new Map<string, Promise<Map<string, number[]>>>();

  constructor(private readonly io: FileIO) {}

  /** The positions that `deletes` delete from the data file at `dataPath`. */
  async positions(dataPath: string, deletes: readonly DataFile[]): Promise<Set<number>> {
    const out = new Set<number>();
    for (const d of deletes) {
      for (const pos of (await this.read(d)).get(dataPath) ?? []) out.add(pos);
    }
    return out;
  }

  private read(d: DataFile): Promise<Map<string, number[]>> {
    let file = this.files.get(d.filePath);
    if (!file) {
      file = this.load(d);
      this.files.set(d.filePath, file);
    }
    return file;
  }

  private async load(d: DataFile): Promise<Map<string, number[]>> {
    if (d.fileFormat !== 'PARQUET') {
      throw new IcebergError(
        'UNSUPPORTED',
        `${d.fileFormat} delete files are not supported: ${d.filePath}`,
      );
    }
    const table = readParquet(await this.io.read(d.filePath), POSITION_DELETE_SCHEMA);
    const byPath = new Map<string, number[]>();
    for (const row of arrowTableToRows(POSITION_DELETE_SCHEMA, table)) {
      const path = row.file_path as string;
      const list = byPath.get(path);
      const pos = Number(row.pos as bigint);
      if (list) list.push(pos);
      else byPath.set(path, [pos]);
    }
    return byPath;
  }
}

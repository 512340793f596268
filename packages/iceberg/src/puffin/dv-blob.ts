/**
 * Deletion vectors as Puffin blobs: the blob metadata Iceberg Java writes for one, and
 * reading one by the location a delete manifest entry gives.
 *
 * Spec: https://iceberg.apache.org/puffin-spec/#deletion-vector-v1-blob-type and
 * https://iceberg.apache.org/spec/#deletion-vectors
 * - Blob metadata (as Java 1.10's BaseDVFileWriter writes it): type `deletion-vector-v1`,
 *   fields [2147483645] (the `_pos` row position metadata column, Integer.MAX_VALUE - 2;
 *   not 2147483545, the `pos` column of position delete files), snapshot-id and
 *   sequence-number -1, no compression-codec (a DV is never compressed), properties
 *   `referenced-data-file` (the data file's location, exactly as in table metadata) then
 *   `cardinality` (decimal digits).
 * - A delete manifest entry locates the blob: file_path (the Puffin file),
 *   content_offset and content_size_in_bytes (equal to the footer's offset and length),
 *   referenced_data_file and record_count (the cardinality). docs/deletion-vectors.md
 *   lists the whole entry.
 */
import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import { DeletionVector, decodeDeletionVector, type RowPosition } from './deletion-vector.ts';
import type { PuffinBlobMetadata } from './format.ts';
import { readExactly } from './reader.ts';
import type { PuffinBlob } from './writer.ts';

export const DV_BLOB_TYPE = 'deletion-vector-v1';
/** Field ID of the `_pos` metadata column, which a DV blob lists as its field. */
export const ROW_POSITION_FIELD_ID = 2147483645;
export const REFERENCED_DATA_FILE_PROPERTY = 'referenced-data-file';
export const CARDINALITY_PROPERTY = 'cardinality';

/** The Puffin blob of a DV for `referencedDataFile` deleting `positions`. */
export function deletionVectorBlob(
  referencedDataFile: string,
  positions: Iterable<RowPosition> | DeletionVector,
): PuffinBlob {
  const dv = positions instanceof DeletionVector ? positions : DeletionVector.of(positions);
  return {
    type: DV_BLOB_TYPE,
    fields: [ROW_POSITION_FIELD_ID],
    snapshotId: -1n,
    sequenceNumber: -1n,
    data: dv.serialize(),
    properties: {
      [REFERENCED_DATA_FILE_PROPERTY]: referencedDataFile,
      [CARDINALITY_PROPERTY]: String(dv.cardinality),
    },
  };
}

/**
 * Decodes a DV blob found through a Puffin footer: checks the type, that it is
 * uncompressed, that `referenced-data-file` is present (and equals `referencedDataFile`
 * if given) and that `cardinality` matches the decoded vector.
 */
export function deletionVectorFromBlob(
  meta: PuffinBlobMetadata,
  data: Uint8Array,
  referencedDataFile?: string,
): DeletionVector {
  const fail = (msg: string): never => {
    throw new IcebergError('INVALID_METADATA', `deletion vector blob at ${meta.offset}: ${msg}`);
  };
  if (meta.type !== DV_BLOB_TYPE) fail(`type is "${meta.type}", not ${DV_BLOB_TYPE}`);
  if (meta.compressionCodec !== undefined) {
    fail(`is compressed (${meta.compressionCodec}); a DV must not be`);
  }
  const ref = meta.properties[REFERENCED_DATA_FILE_PROPERTY];
  if (ref === undefined) fail(`has no ${REFERENCED_DATA_FILE_PROPERTY} property`);
  if (referencedDataFile !== undefined && ref !== referencedDataFile) {
    fail(`references ${ref}, not ${referencedDataFile}`);
  }
  const card = meta.properties[CARDINALITY_PROPERTY];
  if (card === undefined || !/^\d+$/.test(card)) {
    fail(`${CARDINALITY_PROPERTY} property is ${card === undefined ? 'missing' : `"${card}"`}`);
  }
  return decodeDeletionVector(data, {
    cardinality: BigInt(card as string),
    source: `at ${meta.offset}`,
  });
}

/** Where a delete manifest entry says a DV is. */
export interface DeletionVectorLocation {
  /** The Puffin file. */
  readonly filePath: string;
  readonly contentOffset: number;
  readonly contentSizeInBytes: number;
  /** The entry's record_count; checked against the decoded cardinality when given. */
  readonly recordCount?: number | bigint;
}

/** Reads and decodes the DV an entry locates (one ranged read; the footer is not read). */
export async function readDeletionVector(
  io: FileIO,
  dv: DeletionVectorLocation,
): Promise<DeletionVector> {
  const data = await readExactly(io, dv.filePath, dv.contentOffset, dv.contentSizeInBytes);
  return decodeDeletionVector(data, {
    ...(dv.recordCount !== undefined ? { cardinality: dv.recordCount } : {}),
    source: `${dv.filePath}@${dv.contentOffset}`,
  });
}

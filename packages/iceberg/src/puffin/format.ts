/**
 * The Puffin file layout and its footer's JSON `FileMetadata`.
 *
 * Spec: https://iceberg.apache.org/puffin-spec/#file-structure and
 * https://iceberg.apache.org/puffin-spec/#footer-structure
 *
 *   file    Magic Blob_1 ... Blob_n Footer
 *   footer  Magic FooterPayload FooterPayloadSize Flags Magic
 *
 * - Magic: 50 46 41 31 ("PFA1"). FooterPayloadSize: 4-byte signed little-endian.
 *   Flags: 4 bytes; byte 0 bit 0 = the payload is LZ4-compressed; every other bit is
 *   reserved (0 on write).
 * - FooterPayload: UTF-8 JSON `FileMetadata`: `blobs` (required list of BlobMetadata) and
 *   `properties` (optional string map, e.g. `created-by`). BlobMetadata: `type`, `fields`
 *   (int list), `snapshot-id`, `sequence-number`, `offset`, `length` (required longs),
 *   `compression-codec` (optional; absent means uncompressed), `properties` (optional).
 *
 * JSON is written as Iceberg Java's FileMetadataParser writes it (compact, that key order,
 * `compression-codec` and empty `properties` left out), so a file kice writes can equal
 * Java's byte for byte. Longs are bigints where they may pass 2^53 (snapshot IDs).
 */
import {
  arrayAt,
  expectObject,
  intAt,
  type JsonObject,
  longAt,
  metadataError,
  parseJson,
  stringAt,
  stringifyJson,
  stringMapAt,
} from '../spec/json.ts';

/** "PFA1": at the file's start and at both ends of the footer. */
export const PUFFIN_MAGIC = Uint8Array.of(0x50, 0x46, 0x41, 0x31);
/** FooterPayloadSize (4) + Flags (4) + Magic (4): the fixed tail of every Puffin file. */
export const FOOTER_STRUCT_LENGTH = 12;
/** Flags byte 0, bit 0: the footer payload is LZ4-compressed. */
export const FLAG_FOOTER_PAYLOAD_COMPRESSED = 0x01;
/** The recommended file property naming the writer. */
export const CREATED_BY_PROPERTY = 'created-by';

/** One blob as the footer describes it. */
export interface PuffinBlobMetadata {
  readonly type: string;
  /** Field IDs the blob was computed from. */
  readonly fields: readonly number[];
  /** -1 where unknown when written (deletion vectors: inherited from the manifest). */
  readonly snapshotId: bigint;
  readonly sequenceNumber: bigint;
  /** Where the blob's (possibly compressed) bytes start in the file. */
  readonly offset: number;
  /** Their length as stored. */
  readonly length: number;
  /** `lz4` or `zstd`; undefined when the blob is stored uncompressed. */
  readonly compressionCodec?: string;
  readonly properties: Readonly<Record<string, string>>;
}

/** The footer payload. */
export interface PuffinFileMetadata {
  readonly blobs: readonly PuffinBlobMetadata[];
  readonly properties: Readonly<Record<string, string>>;
}

/** The footer payload JSON, as Java writes it. */
export function fileMetadataToJson(metadata: PuffinFileMetadata): string {
  const out: JsonObject = {
    blobs: metadata.blobs.map((b) => {
      const o: JsonObject = {
        type: b.type,
        fields: [...b.fields],
        'snapshot-id': b.snapshotId,
        'sequence-number': b.sequenceNumber,
        offset: b.offset,
        length: b.length,
      };
      if (b.compressionCodec !== undefined) o['compression-codec'] = b.compressionCodec;
      if (Object.keys(b.properties).length > 0) o.properties = { ...b.properties };
      return o;
    }),
  };
  if (Object.keys(metadata.properties).length > 0) out.properties = { ...metadata.properties };
  return stringifyJson(out);
}

/**
 * Parses the footer payload JSON. Throws IcebergError('INVALID_METADATA') naming the key
 * (or 'INVALID_ARGUMENT' for text that is not JSON).
 */
export function parseFileMetadata(text: string): PuffinFileMetadata {
  const root = expectObject(parseJson(text), 'Puffin footer');
  const blobs = arrayAt(root, 'blobs', 'Puffin footer: ').map((v, i) => {
    const path = `Puffin footer: blobs[${i}].`;
    const o = expectObject(v, path.slice(0, -1));
    const fields = arrayAt(o, 'fields', path).map((f, j) => {
      if (typeof f !== 'number' || !Number.isInteger(f) || f < -(2 ** 31) || f >= 2 ** 31) {
        metadataError(`${path}fields[${j}]`, 'expected a 32-bit integer');
      }
      return f;
    });
    const offset = intAt(o, 'offset', path);
    const length = intAt(o, 'length', path);
    if (offset < 0) metadataError(`${path}offset`, 'must not be negative');
    if (length < 0) metadataError(`${path}length`, 'must not be negative');
    const codec = o['compression-codec'];
    if (codec !== undefined && codec !== null && typeof codec !== 'string') {
      metadataError(`${path}compression-codec`, 'expected a string');
    }
    const blob: PuffinBlobMetadata = {
      type: stringAt(o, 'type', path),
      fields,
      snapshotId: longAt(o, 'snapshot-id', path),
      sequenceNumber: longAt(o, 'sequence-number', path),
      offset,
      length,
      ...(typeof codec === 'string' ? { compressionCodec: codec } : {}),
      properties: stringMapAt(o, 'properties', path),
    };
    return blob;
  });
  return { blobs, properties: stringMapAt(root, 'properties', 'Puffin footer: ') };
}

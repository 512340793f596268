/**
 * Writing Puffin files: the leading magic, each blob's bytes (compressed if asked), then
 * the footer with the uncompressed JSON FileMetadata and flags 0.
 *
 * Spec: https://iceberg.apache.org/puffin-spec/#file-structure
 * - Blobs follow the magic back to back, in the order added; the footer records each
 *   one's offset and stored length (./format.ts).
 * - The footer payload is never compressed (LZ4 is not available here; Java 1.10 does not
 *   compress it either).
 * - File properties: `created-by` is "kice" unless given; more may be added.
 * - `snapshot-id` and `sequence-number` default to -1, what the spec asks of deletion
 *   vectors (they are inherited from the manifest entry).
 *
 * Bad arguments throw IcebergError('INVALID_ARGUMENT'); an unavailable codec
 * IcebergError('UNSUPPORTED') (./compression.ts).
 */
import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import { compressBlob, type PuffinCompressionCodec } from './compression.ts';
import {
  CREATED_BY_PROPERTY,
  FOOTER_STRUCT_LENGTH,
  fileMetadataToJson,
  PUFFIN_MAGIC,
  type PuffinBlobMetadata,
  type PuffinFileMetadata,
} from './format.ts';

/** A blob to write. */
export interface PuffinBlob {
  readonly type: string;
  readonly fields: readonly number[];
  /** Default -1. */
  readonly snapshotId?: bigint;
  /** Default -1. */
  readonly sequenceNumber?: bigint;
  /** The uncompressed bytes. */
  readonly data: Uint8Array;
  /** Default: stored uncompressed. */
  readonly compressionCodec?: PuffinCompressionCodec;
  readonly properties?: Readonly<Record<string, string>>;
}

export interface PuffinWriterOptions {
  /** File properties; `created-by` defaults to "kice". */
  readonly properties?: Readonly<Record<string, string>>;
}

/** A finished Puffin file. */
export interface PuffinFile {
  readonly bytes: Uint8Array;
  readonly metadata: PuffinFileMetadata;
  /** Bytes from the footer's first magic to the end (a statistics file records it). */
  readonly footerSize: number;
}

/** Collects blobs in memory; `finish()` returns the file. */
export class PuffinWriter {
  private readonly chunks: Uint8Array[] = [PUFFIN_MAGIC];
  private readonly blobs: PuffinBlobMetadata[] = [];
  private readonly properties: Record<string, string>;
  private position = PUFFIN_MAGIC.length;
  private finished = false;

  constructor(options: PuffinWriterOptions = {}) {
    this.properties = { [CREATED_BY_PROPERTY]: 'kice', ...options.properties };
  }

  /** Appends a blob; returns its footer entry (offset and stored length). */
  add(blob: PuffinBlob): PuffinBlobMetadata {
    if (this.finished) throw new IcebergError('INVALID_ARGUMENT', 'Puffin writer is finished');
    if (typeof blob.type !== 'string' || blob.type === '') {
      throw new IcebergError('INVALID_ARGUMENT', 'Puffin blob needs a type');
    }
    for (const f of blob.fields) {
      if (!Number.isInteger(f) || f < -(2 ** 31) || f >= 2 ** 31) {
        throw new IcebergError('INVALID_ARGUMENT', `Puffin blob field ID ${f} is not an int`);
      }
    }
    const stored = compressBlob(blob.compressionCodec, blob.data);
    const meta: PuffinBlobMetadata = {
      type: blob.type,
      fields: [...blob.fields],
      snapshotId: blob.snapshotId ?? -1n,
      sequenceNumber: blob.sequenceNumber ?? -1n,
      offset: this.position,
      length: stored.length,
      ...(blob.compressionCodec !== undefined ? { compressionCodec: blob.compressionCodec } : {}),
      properties: { ...blob.properties },
    };
    this.chunks.push(stored);
    this.position += stored.length;
    this.blobs.push(meta);
    return meta;
  }

  /** Writes the footer and returns the whole file. */
  finish(): PuffinFile {
    if (this.finished) throw new IcebergError('INVALID_ARGUMENT', 'Puffin writer is finished');
    this.finished = true;
    const metadata: PuffinFileMetadata = { blobs: this.blobs, properties: this.properties };
    const payload = new TextEncoder().encode(fileMetadataToJson(metadata));
    const footerSize = PUFFIN_MAGIC.length + payload.length + FOOTER_STRUCT_LENGTH;
    const bytes = new Uint8Array(this.position + footerSize);
    let at = 0;
    for (const c of this.chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    bytes.set(PUFFIN_MAGIC, at);
    bytes.set(payload, at + 4);
    at += 4 + payload.length;
    const view = new DataView(bytes.buffer);
    view.setInt32(at, payload.length, true);
    view.setUint32(at + 4, 0, true); // flags: payload not compressed
    bytes.set(PUFFIN_MAGIC, at + 8);
    return { bytes, metadata, footerSize };
  }
}

/** A Puffin file holding `blobs` in order. */
export function writePuffin(
  blobs: readonly PuffinBlob[],
  options: PuffinWriterOptions = {},
): PuffinFile {
  const w = new PuffinWriter(options);
  for (const b of blobs) w.add(b);
  return w.finish();
}

/** Writes a Puffin file holding `blobs` to `path`; returns it (file size = bytes.length). */
export async function writePuffinFile(
  io: FileIO,
  path: string,
  blobs: readonly PuffinBlob[],
  options: PuffinWriterOptions = {},
): Promise<PuffinFile> {
  const file = writePuffin(blobs, options);
  await io.write(path, file.bytes);
  return file;
}

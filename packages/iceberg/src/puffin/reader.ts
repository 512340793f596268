/**
 * Reading Puffin files: the footer (from the file's tail) and blobs (by offset and length).
 *
 * Spec: https://iceberg.apache.org/puffin-spec/#footer-structure
 * - The last 12 bytes are FooterPayloadSize, Flags and Magic; the footer is
 *   4 + FooterPayloadSize + 12 bytes and starts with Magic too.
 * - A footer whose payload is LZ4-compressed (flag byte 0 bit 0) is refused with
 *   IcebergError('UNSUPPORTED'): no LZ4 frame decoder here (Iceberg Java 1.10 cannot
 *   read one either). Any other flag bit set: IcebergError('UNSUPPORTED') too, since its
 *   meaning is unknown.
 * - Every blob must lie between the leading magic and the footer.
 * - The leading magic is checked when the whole file is at hand (`parsePuffin`);
 *   `readPuffinFooter` reads only the tail and, like Java's PuffinReader, does not.
 *
 * Malformed files throw IcebergError('INVALID_METADATA') naming what is wrong.
 */
import { IcebergError } from '../errors.ts';
import type { FileIO } from '../io/file-io.ts';
import { decompressBlob } from './compression.ts';
import {
  FLAG_FOOTER_PAYLOAD_COMPRESSED,
  FOOTER_STRUCT_LENGTH,
  PUFFIN_MAGIC,
  type PuffinBlobMetadata,
  type PuffinFileMetadata,
  parseFileMetadata,
} from './format.ts';

/** A file's footer. */
export interface PuffinFooter {
  readonly metadata: PuffinFileMetadata;
  /** Bytes from the footer's first magic to the end of the file. */
  readonly footerSize: number;
  readonly fileSize: number;
}

/** How many bytes of the tail `readPuffinFooter` reads first. */
export const PUFFIN_TAIL_BYTES = 16 * 1024;
/** Magic + the smallest footer. */
const MIN_FILE_SIZE = PUFFIN_MAGIC.length * 2 + FOOTER_STRUCT_LENGTH;

function invalid(msg: string, context: Record<string, unknown> = {}): never {
  throw new IcebergError('INVALID_METADATA', `Puffin: ${msg}`, { context });
}

function isMagic(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < PUFFIN_MAGIC.length; i++) {
    if (bytes[at + i] !== PUFFIN_MAGIC[i]) return false;
  }
  return true;
}

/**
 * The footer size that the last 12 bytes of a file of `fileSize` bytes give (`tail` ends
 * where the file ends). Checks the trailing magic, the flags and the size.
 */
export function puffinFooterSize(tail: Uint8Array, fileSize: number): number {
  if (fileSize < MIN_FILE_SIZE) {
    invalid(`a file of ${fileSize} bytes is too short (at least ${MIN_FILE_SIZE})`);
  }
  if (tail.length < FOOTER_STRUCT_LENGTH) {
    throw new IcebergError('INVALID_ARGUMENT', 'Puffin: the tail must hold the last 12 bytes');
  }
  const s = tail.length - FOOTER_STRUCT_LENGTH;
  if (!isMagic(tail, s + 8)) invalid('no magic "PFA1" at the end of the file');
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const flags = tail.subarray(s + 4, s + 8);
  if (((flags[0] as number) & FLAG_FOOTER_PAYLOAD_COMPRESSED) !== 0) {
    throw new IcebergError(
      'UNSUPPORTED',
      'Puffin: the footer payload is LZ4-compressed, which is not supported (no LZ4 frame decoder)',
    );
  }
  for (let b = 0; b < 4; b++) {
    const byte = (flags[b] as number) & (b === 0 ? ~FLAG_FOOTER_PAYLOAD_COMPRESSED : 0xff);
    if (byte !== 0) {
      const bit = 31 - Math.clz32(byte & -byte);
      throw new IcebergError('UNSUPPORTED', `Puffin: unknown footer flag (byte ${b}, bit ${bit})`);
    }
  }
  const payloadSize = view.getInt32(s, true);
  const footerSize = PUFFIN_MAGIC.length + payloadSize + FOOTER_STRUCT_LENGTH;
  if (payloadSize < 0 || footerSize > fileSize - PUFFIN_MAGIC.length) {
    invalid(`footer payload size ${payloadSize} does not fit in a file of ${fileSize} bytes`);
  }
  return footerSize;
}

/**
 * Parses the footer from `tail`, the last bytes of a file of `fileSize` bytes (at least
 * `puffinFooterSize` of them).
 */
export function parsePuffinFooter(tail: Uint8Array, fileSize: number): PuffinFooter {
  const footerSize = puffinFooterSize(tail, fileSize);
  if (tail.length < footerSize) {
    throw new IcebergError(
      'INVALID_ARGUMENT',
      `Puffin: the footer is ${footerSize} bytes, the tail given ${tail.length}`,
    );
  }
  const start = tail.length - footerSize;
  if (!isMagic(tail, start))
    invalid(`no magic "PFA1" at the footer's start (byte ${fileSize - footerSize})`);
  const payload = tail.subarray(start + 4, tail.length - FOOTER_STRUCT_LENGTH);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch (cause) {
    return invalid(`the footer payload is not UTF-8: ${String(cause)}`);
  }
  const metadata = parseFileMetadata(text);
  const blobsEnd = fileSize - footerSize;
  metadata.blobs.forEach((b, i) => {
    if (b.offset < PUFFIN_MAGIC.length || b.offset + b.length > blobsEnd) {
      invalid(
        `blob ${i} (${b.type}) at [${b.offset}, ${b.offset + b.length}) is outside the blob area [4, ${blobsEnd})`,
        { blob: i },
      );
    }
  });
  return { metadata, footerSize, fileSize };
}

/** The footer of a whole Puffin file in memory; also checks the leading magic. */
export function parsePuffin(file: Uint8Array): PuffinFooter {
  if (file.length >= PUFFIN_MAGIC.length && !isMagic(file, 0)) {
    invalid('no magic "PFA1" at the start of the file');
  }
  return parsePuffinFooter(file, file.length);
}

/** A blob's uncompressed bytes from a whole file in memory. */
export function puffinBlobData(file: Uint8Array, blob: PuffinBlobMetadata): Uint8Array {
  if (blob.offset < 0 || blob.offset + blob.length > file.length) {
    invalid(
      `blob ${blob.type} at [${blob.offset}, ${blob.offset + blob.length}) is past the end of the file`,
    );
  }
  return decompressBlob(
    blob.compressionCodec,
    file.subarray(blob.offset, blob.offset + blob.length),
  );
}

/**
 * Reads a file's footer through ranged reads of its tail (the whole file when `fileSize`
 * is not known).
 */
export async function readPuffinFooter(
  io: FileIO,
  path: string,
  fileSize?: number,
): Promise<PuffinFooter> {
  if (fileSize === undefined) return parsePuffin(await io.read(path));
  if (fileSize < MIN_FILE_SIZE) {
    invalid(`${path}: a file of ${fileSize} bytes is too short (at least ${MIN_FILE_SIZE})`);
  }
  const first = Math.min(PUFFIN_TAIL_BYTES, fileSize);
  let tail = await readExactly(io, path, fileSize - first, first);
  const footerSize = puffinFooterSize(tail, fileSize);
  if (footerSize > tail.length) {
    const front = await readExactly(io, path, fileSize - footerSize, footerSize - tail.length);
    const all = new Uint8Array(footerSize);
    all.set(front, 0);
    all.set(tail, front.length);
    tail = all;
  }
  if (tail.length === fileSize) return parsePuffin(tail);
  return parsePuffinFooter(tail, fileSize);
}

/** Reads a blob's bytes (one ranged read) and decompresses them. */
export async function readPuffinBlob(
  io: FileIO,
  path: string,
  blob: PuffinBlobMetadata,
): Promise<Uint8Array> {
  const data = await readExactly(io, path, blob.offset, blob.length);
  return decompressBlob(blob.compressionCodec, data);
}

/** `length` bytes at `offset`, or IcebergError('INVALID_METADATA') if the file is shorter. */
export async function readExactly(
  io: FileIO,
  path: string,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const data = await io.readRange(path, offset, length);
  if (data.length !== length) {
    invalid(`${path}: expected ${length} bytes at ${offset}, the file has ${data.length} there`, {
      path,
      offset,
      length,
    });
  }
  return data;
}

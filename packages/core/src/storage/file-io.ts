/**
 * The FileIO the engine's threads use, built from the `storage` config key: one
 * DispatchingFileIO routing `file:`/absolute paths to the local filesystem and `s3://` to
 * S3FileIO (storage.s3: endpoint, credentials or the AWS SDK's default chain, part size,
 * retry budget). Pool workers and the committer thread each build their own from the same
 * (structured-clonable) StorageConfig, so a table may live on either store.
 */
import { DispatchingFileIO, type FileIO, LocalFileIO, S3FileIO } from '@kice/iceberg';
import type { StorageConfig } from '../config/schema.ts';

export function createFileIO(storage: StorageConfig | undefined): FileIO {
  const s3 = storage?.s3;
  return new DispatchingFileIO({
    local: new LocalFileIO(),
    s3: new S3FileIO(
      s3 === undefined
        ? {}
        : {
            ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
            ...(s3.region === undefined ? {} : { region: s3.region }),
            ...(s3.forcePathStyle === undefined ? {} : { forcePathStyle: s3.forcePathStyle }),
            ...(s3.accessKeyId === undefined ? {} : { accessKeyId: s3.accessKeyId }),
            ...(s3.secretAccessKey === undefined ? {} : { secretAccessKey: s3.secretAccessKey }),
            ...(s3.sessionToken === undefined ? {} : { sessionToken: s3.sessionToken }),
            partSizeBytes: s3.partSizeBytes,
            partsInFlight: s3.partsInFlight,
            requestTimeoutMs: s3.requestTimeoutMs,
            retry: s3.retry,
          },
    ),
  });
}

/** At most this many FileIOs are kept per thread: vended credentials rotate (a new
 * StorageConfig each time), and each would otherwise stay cached for the thread's life. */
export const MAX_CACHED_FILE_IOS = 32;

/** Insertion order = least recently used first (a hit is moved to the end). */
const cache = new Map<string, FileIO>();

/** One FileIO per distinct storage config in this thread (the S3 client keeps its sockets),
 * the least recently used dropped beyond MAX_CACHED_FILE_IOS. A dropped one is not
 * destroyed: a write may still be using it; its idle sockets close on their own. */
export function sharedFileIO(storage: StorageConfig | undefined): FileIO {
  const key = JSON.stringify(storage ?? null);
  let io = cache.get(key);
  if (io) {
    cache.delete(key);
  } else {
    io = createFileIO(storage);
    while (cache.size >= MAX_CACHED_FILE_IOS) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, io);
  return io;
}

/** How many FileIOs this thread keeps (for tests). */
export function cachedFileIOs(): number {
  return cache.size;
}

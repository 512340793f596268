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

const cache = new Map<string, FileIO>();

/** One FileIO per distinct storage config in this thread (the S3 client keeps its sockets). */
export function sharedFileIO(storage: StorageConfig | undefined): FileIO {
  const key = JSON.stringify(storage ?? null);
  let io = cache.get(key);
  if (!io) {
    io = createFileIO(storage);
    cache.set(key, io);
  }
  return io;
}

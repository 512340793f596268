/** Settings of S3FileIO (see docs/config.md `storage.s3` for the engine's config key). */
import type { RetryPolicy } from './retry.ts';

export interface S3FileIOOptions {
  /** Endpoint URL of an S3-compatible store (e.g. http://127.0.0.1:19400); AWS if absent. */
  readonly endpoint?: string;
  /** AWS region; the SDK's default chain (AWS_REGION, profile) if absent, us-east-1 with an endpoint. */
  readonly region?: string;
  /** Path-style addressing (http://host/bucket/key), which most S3-compatible stores need. */
  readonly forcePathStyle?: boolean;
  /** Explicit credentials; the SDK's default provider chain when absent. */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
  /** Multipart part size in bytes (default 8 MiB, at least 5 MiB as S3 requires). Objects
   * up to this size are written with one PUT. */
  readonly partSizeBytes?: number;
  /** Parts uploading at once per file; a writer holds at most partSize × partsInFlight bytes. */
  readonly partsInFlight?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Keys per DeleteObjects request (default and maximum 1000, S3's limit). */
  readonly deleteBatchSize?: number;
  /** Keys per ListObjectsV2 page (default: the store's, 1000 on S3). */
  readonly listPageSize?: number;
  /** Per-attempt socket timeout in ms (default 30 000). */
  readonly requestTimeoutMs?: number;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const DEFAULT_PARTS_IN_FLIGHT = 4;
/** S3's limit of keys per DeleteObjects request. */
export const DELETE_BATCH = 1000;

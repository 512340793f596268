/**
 * FileIO over Amazon S3 and S3-compatible stores, for `s3://bucket/key` URIs (s3a://,
 * s3n:// too), on the AWS SDK v3 client.
 *
 * - read / readRange: GetObject (with `Range: bytes=a-b`, RFC 9110 §14.1.2).
 * - write: one PutObject up to `partSizeBytes`, a multipart upload above (./multipart.ts);
 *   `create` streams. `ifAbsent` sends `If-None-Match: *` so S3 itself refuses to replace
 *   an existing object (412 PreconditionFailed → AlreadyExistsError); 409
 *   ConditionalRequestConflict (a concurrent conditional write) is retried. When an
 *   attempt's answer was lost and a retry then meets 412, the object is read back: equal
 *   bytes mean the lost attempt was ours and the write succeeded.
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 * - list: ListObjectsV2, following continuation tokens; delete: DeleteObject plus every
 *   key under `path/` (the local FileIO deletes folders recursively); deleteMany:
 *   DeleteObjects in batches of 1000 keys.
 * - Every request is retried per ./retry.ts (the SDK's own retries are off so one policy
 *   decides); a final failure is an IcebergError naming s3://bucket/key and S3's code.
 */
import type {
  GetObjectCommandOutput,
  ListObjectsV2CommandOutput,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { AlreadyExistsError, IcebergError } from '../../errors.ts';
import type { FileIO, OutputStream, WriteOptions } from '../file-io.ts';
import { s3Error } from './errors.ts';
import { multipartOutput } from './multipart.ts';
import {
  DEFAULT_PART_SIZE,
  DEFAULT_PARTS_IN_FLIGHT,
  DELETE_BATCH,
  MIN_PART_SIZE,
  type S3FileIOOptions,
} from './options.ts';
import { S3Requester } from './requester.ts';
import {
  DEFAULT_RETRY_POLICY,
  errorCodeOf,
  httpStatusOf,
  isRetryableS3Error,
  RetriesExhausted,
} from './retry.ts';
import { s3Sdk } from './sdk.ts';
import { formatS3Uri, parseS3Uri } from './uri.ts';

export function s3ClientConfig(opts: S3FileIOOptions): S3ClientConfig {
  const cfg: S3ClientConfig = {
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs ?? 30_000,
      connectionTimeout: Math.min(opts.requestTimeoutMs ?? 30_000, 10_000),
    },
  };
  if (opts.endpoint !== undefined) {
    cfg.endpoint = opts.endpoint;
    // Stores other than AWS often reject the SDK's default CRC32 trailers / response checks.
    cfg.requestChecksumCalculation = 'WHEN_REQUIRED';
    cfg.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  const region = opts.region ?? (opts.endpoint !== undefined ? 'us-east-1' : undefined);
  if (region !== undefined) cfg.region = region;
  if (opts.forcePathStyle !== undefined) cfg.forcePathStyle = opts.forcePathStyle;
  if (opts.accessKeyId !== undefined && opts.secretAccessKey !== undefined) {
    cfg.credentials = {
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      ...(opts.sessionToken === undefined ? {} : { sessionToken: opts.sessionToken }),
    };
  }
  return cfg;
}

function isPreconditionFailed(e: unknown): boolean {
  return httpStatusOf(e) === 412 || errorCodeOf(e) === 'PreconditionFailed';
}

function isConditionalConflict(e: unknown): boolean {
  return errorCodeOf(e) === 'ConditionalRequestConflict' || httpStatusOf(e) === 409;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class S3FileIO implements FileIO {
  private made: S3Client | undefined;
  private requester: S3Requester | undefined;
  private readonly clientConfig: S3ClientConfig;
  private readonly retry: S3FileIOOptions['retry'];
  readonly partSize: number;
  readonly partsInFlight: number;
  private readonly listPageSize: number | undefined;
  private readonly deleteBatch: number;

  constructor(opts: S3FileIOOptions = {}, client?: S3Client) {
    this.partSize = opts.partSizeBytes ?? DEFAULT_PART_SIZE;
    this.partsInFlight = opts.partsInFlight ?? DEFAULT_PARTS_IN_FLIGHT;
    if (!Number.isInteger(this.partSize) || this.partSize < MIN_PART_SIZE)
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `partSizeBytes must be an integer ≥ ${MIN_PART_SIZE} (5 MiB), got ${opts.partSizeBytes}`,
        {
          context: { partSizeBytes: opts.partSizeBytes },
        },
      );
    if (!Number.isInteger(this.partsInFlight) || this.partsInFlight < 1)
      throw new IcebergError(
        'INVALID_ARGUMENT',
        `partsInFlight must be an integer ≥ 1, got ${opts.partsInFlight}`,
        {
          context: { partsInFlight: opts.partsInFlight },
        },
      );
    this.listPageSize = opts.listPageSize;
    this.deleteBatch = Math.max(1, Math.min(DELETE_BATCH, opts.deleteBatchSize ?? DELETE_BATCH));
    this.made = client;
    this.clientConfig = s3ClientConfig(opts);
    this.retry = opts.retry;
  }

  /** The S3 client, made at first use (loading the SDK then: ./sdk.ts). */
  get client(): S3Client {
    this.made ??= new (s3Sdk().S3Client)(this.clientConfig);
    return this.made;
  }

  private get req(): S3Requester {
    this.requester ??= new S3Requester(this.client, { ...DEFAULT_RETRY_POLICY, ...this.retry });
    return this.requester;
  }

  async read(path: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Uri(path);
    return this.req.send(
      'GetObject',
      path,
      () => new (s3Sdk().GetObjectCommand)({ Bucket: bucket, Key: key }),
      (r: GetObjectCommandOutput) => bodyBytes(r),
    );
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    if (length <= 0) return new Uint8Array(0);
    const { bucket, key } = parseS3Uri(path);
    try {
      return await this.req.sendRaw(
        () =>
          new (s3Sdk().GetObjectCommand)({
            Bucket: bucket,
            Key: key,
            Range: `bytes=${offset}-${offset + length - 1}`,
          }),
        (r: GetObjectCommandOutput) => bodyBytes(r),
      );
    } catch (e) {
      // A range starting at or past the end: an empty read, as for a local file.
      if (e instanceof RetriesExhausted && httpStatusOf(e.last) === 416) return new Uint8Array(0);
      throw s3Error('GetObject', path, e);
    }
  }

  async write(path: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const { bucket, key } = parseS3Uri(path);
    if (data.length > this.partSize) {
      const out = this.output(bucket, key, options.ifAbsent ?? false);
      await out.write(data);
      await out.close();
      return;
    }
    await this.putWhole(bucket, key, data, options.ifAbsent ?? false);
  }

  async create(path: string): Promise<OutputStream> {
    const { bucket, key } = parseS3Uri(path);
    return this.output(bucket, key, false);
  }

  private output(bucket: string, key: string, ifAbsent: boolean): OutputStream {
    return multipartOutput(this.req, bucket, key, {
      partSize: this.partSize,
      partsInFlight: this.partsInFlight,
      ifAbsent,
      putWhole: (data) => this.putWhole(bucket, key, data, ifAbsent),
    });
  }

  private async putWhole(
    bucket: string,
    key: string,
    data: Uint8Array,
    ifAbsent: boolean,
  ): Promise<void> {
    const uri = formatS3Uri({ bucket, key });
    const make = () =>
      new (s3Sdk().PutObjectCommand)({
        Bucket: bucket,
        Key: key,
        Body: data,
        ContentLength: data.length,
        ...(ifAbsent ? { IfNoneMatch: '*' } : {}),
      });
    if (!ifAbsent) {
      await this.req.send('PutObject', uri, make, () => undefined);
      return;
    }
    try {
      await this.req.sendRaw(
        make,
        () => undefined,
        (e) => isRetryableS3Error(e) || isConditionalConflict(e),
      );
    } catch (e) {
      const last = e instanceof RetriesExhausted ? e.last : e;
      const attempts = e instanceof RetriesExhausted ? e.attempts : 1;
      const lostRace = isPreconditionFailed(last) || isConditionalConflict(last);
      if (!lostRace) throw s3Error('PutObject', uri, e);
      // An earlier attempt may have created the object and lost its answer: check.
      if (attempts > 1 && sameBytes(await this.read(uri), data)) return;
      throw new AlreadyExistsError(`file already exists: ${uri}`, { path: uri });
    }
  }

  async exists(path: string): Promise<boolean> {
    const { bucket, key } = parseS3Uri(path);
    try {
      await this.req.sendRaw(
        () => new (s3Sdk().HeadObjectCommand)({ Bucket: bucket, Key: key }),
        () => undefined,
      );
      return true;
    } catch (e) {
      if (e instanceof RetriesExhausted && httpStatusOf(e.last) === 404) return false;
      throw s3Error('HeadObject', path, e);
    }
  }

  async delete(path: string): Promise<void> {
    const under = await this.list(`${path.replace(/\/+$/, '')}/`);
    await this.deleteMany([path, ...under]);
  }

  async deleteMany(paths: readonly string[]): Promise<void> {
    const byBucket = new Map<string, { scheme: string; keys: string[] }>();
    for (const p of paths) {
      const loc = parseS3Uri(p);
      if (loc.key === '') continue;
      let b = byBucket.get(loc.bucket);
      if (!b) {
        b = { scheme: loc.scheme, keys: [] };
        byBucket.set(loc.bucket, b);
      }
      b.keys.push(loc.key);
    }
    for (const [bucket, { scheme, keys }] of byBucket) {
      for (let i = 0; i < keys.length; i += this.deleteBatch) {
        const batch = keys.slice(i, i + this.deleteBatch);
        const first = formatS3Uri({ scheme, bucket, key: batch[0] as string });
        const errors = await this.req.send(
          'DeleteObjects',
          first,
          () =>
            new (s3Sdk().DeleteObjectsCommand)({
              Bucket: bucket,
              Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
            }),
          (r: { Errors?: { Key?: string; Code?: string; Message?: string }[] }) => r.Errors ?? [],
        );
        const bad = errors.find((e) => e.Code !== 'NoSuchKey');
        if (bad) {
          const uri = formatS3Uri({ scheme, bucket, key: bad.Key ?? '' });
          throw new IcebergError(
            'IO',
            `S3 DeleteObjects ${uri} failed: ${bad.Code}: ${bad.Message ?? ''}`,
            {
              context: {
                path: uri,
                op: 'DeleteObjects',
                s3Code: bad.Code,
                failedKeys: errors.length,
              },
            },
          );
        }
      }
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { scheme, bucket, key } = parseS3Uri(prefix);
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.req.send(
        'ListObjectsV2',
        prefix,
        () =>
          new (s3Sdk().ListObjectsV2Command)({
            Bucket: bucket,
            Prefix: key,
            ...(this.listPageSize === undefined ? {} : { MaxKeys: this.listPageSize }),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        (r: ListObjectsV2CommandOutput) => r,
      );
      for (const o of page.Contents ?? [])
        if (o.Key !== undefined) out.push(formatS3Uri({ scheme, bucket, key: o.Key }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort();
  }

  /** Closes the client's sockets. */
  destroy(): void {
    this.made?.destroy();
  }
}

async function bodyBytes(r: GetObjectCommandOutput): Promise<Uint8Array> {
  if (!r.Body) return new Uint8Array(0);
  return r.Body.transformToByteArray();
}

/**
 * A streaming S3 writer. Bytes fill a part buffer of `partSize`; the first full part
 * starts a multipart upload (CreateMultipartUpload), each full part is sent with
 * UploadPart while the caller keeps writing, and at most `partsInFlight` part buffers exist
 * at once (a write waits for an upload to finish before taking a new buffer), so memory is
 * bounded by partSize × partsInFlight whatever the file size. `close()` sends the last
 * (possibly short) part and CompleteMultipartUpload; a file that never filled one part is
 * written with a single PutObject instead. Any failure aborts the upload
 * (AbortMultipartUpload), so no incomplete upload is left behind to be billed.
 *
 * Lost answers (the request took effect, the response never arrived, the retry repeats it):
 * - CreateMultipartUpload: each attempt opens an upload, and only the last one's id is
 *   known. When it took more than one attempt, the other uploads open at the same key are
 *   aborted once the write ends: a key written in parts has one writer (data files have
 *   unique names; create-if-absent metadata files are far smaller than a part), so those
 *   uploads are the lost attempts'. (Initiated times cannot narrow this down: S3-compatible
 *   stores such as moto report a fixed one.) Were a second writer uploading the same key,
 *   its upload would be aborted and its write fail: an error, never a wrong object.
 * - CompleteMultipartUpload: a repeat may find the upload gone (NoSuchUpload) or, with
 *   `ifAbsent`, the object present (412). The object at the key is then checked: its ETag
 *   equal to the one these parts make (MD5 of the parts' MD5s, "-" part count) means the
 *   lost attempt completed this upload, and the write succeeded. Otherwise a 412 is an
 *   AlreadyExistsError (another writer's object is there), as for a single PUT.
 * Spec: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 */
import { createHash } from 'node:crypto';
import type {
  CompletedPart,
  CreateMultipartUploadCommandOutput,
  HeadObjectCommandOutput,
  ListMultipartUploadsCommandOutput,
  UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { AlreadyExistsError } from '../../errors.ts';
import type { OutputStream } from '../file-io.ts';
import { s3Error } from './errors.ts';
import type { S3Requester } from './requester.ts';
import { errorCodeOf, httpStatusOf, isRetryableS3Error, RetriesExhausted } from './retry.ts';
import { s3Sdk } from './sdk.ts';

/** The ETag S3 gives an object completed from parts with these ETags (quoted hex MD5s). */
export function multipartEtag(partEtags: readonly string[]): string {
  const md5 = createHash('md5');
  for (const e of partEtags) md5.update(Buffer.from(e.replace(/"/g, ''), 'hex'));
  return `"${md5.digest('hex')}-${partEtags.length}"`;
}

export interface MultipartOptions {
  readonly partSize: number;
  readonly partsInFlight: number;
  /** Complete only if no object exists at the key (If-None-Match: *). */
  readonly ifAbsent?: boolean;
  /** Writes a whole (small) object in one request; used when no part ever filled. */
  readonly putWhole: (data: Uint8Array) => Promise<void>;
}

export function multipartOutput(
  req: S3Requester,
  bucket: string,
  key: string,
  opts: MultipartOptions,
): OutputStream {
  const uri = `s3://${bucket}/${key}`;
  let buf: Uint8Array | undefined = new Uint8Array(opts.partSize);
  let filled = 0;
  let uploadId: Promise<string> | undefined;
  const parts: CompletedPart[] = [];
  let nextPart = 1;
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let state: 'open' | 'closed' | 'aborted' = 'open';

  // Whether CreateMultipartUpload needed retries (lost answers may have opened uploads).
  let createRetried = false;

  const startUpload = () => {
    let attempts = 0;
    return req
      .send(
        'CreateMultipartUpload',
        uri,
        () => {
          attempts++;
          return new (s3Sdk().CreateMultipartUploadCommand)({ Bucket: bucket, Key: key });
        },
        (r: CreateMultipartUploadCommandOutput) => {
          if (!r.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
          return r.UploadId;
        },
      )
      .finally(() => {
        if (attempts > 1) createRetried = true;
      });
  };

  /** Aborts uploads at the key that lost-answer CreateMultipartUpload attempts opened. */
  const abortStrays = async (own: string | undefined) => {
    if (!createRetried) return;
    const page = await req.send(
      'ListMultipartUploads',
      uri,
      () => new (s3Sdk().ListMultipartUploadsCommand)({ Bucket: bucket, Prefix: key }),
      (r: ListMultipartUploadsCommandOutput) => r.Uploads ?? [],
    );
    for (const u of page) {
      if (u.Key !== key || !u.UploadId || u.UploadId === own) continue;
      const id = u.UploadId;
      await req.send(
        'AbortMultipartUpload',
        uri,
        () => new (s3Sdk().AbortMultipartUploadCommand)({ Bucket: bucket, Key: key, UploadId: id }),
        () => undefined,
      );
    }
  };

  /** Whether the object at the key is the one these parts complete to. */
  const completedByUs = async (sorted: readonly CompletedPart[]): Promise<boolean> => {
    const want = multipartEtag(sorted.map((p) => p.ETag ?? ''));
    try {
      const head = await req.sendRaw(
        () => new (s3Sdk().HeadObjectCommand)({ Bucket: bucket, Key: key }),
        (r: HeadObjectCommandOutput) => r.ETag,
      );
      return head === want;
    } catch (e) {
      if (e instanceof RetriesExhausted && httpStatusOf(e.last) === 404) return false;
      throw s3Error('HeadObject', uri, e);
    }
  };

  const complete = async (id: string, sorted: CompletedPart[]) => {
    let attempts = 0;
    try {
      await req.sendRaw(
        () => {
          attempts++;
          return new (s3Sdk().CompleteMultipartUploadCommand)({
            Bucket: bucket,
            Key: key,
            UploadId: id,
            MultipartUpload: { Parts: sorted },
            ...(opts.ifAbsent ? { IfNoneMatch: '*' } : {}),
          });
        },
        () => undefined,
        // 409 ConditionalRequestConflict: a concurrent conditional write; try again.
        (e) => isRetryableS3Error(e) || (opts.ifAbsent === true && httpStatusOf(e) === 409),
      );
    } catch (e) {
      const last = e instanceof RetriesExhausted ? e.last : e;
      const status = httpStatusOf(last);
      const code = errorCodeOf(last);
      const precondition = status === 412 || code === 'PreconditionFailed';
      const gone = code === 'NoSuchUpload' || status === 404;
      if (attempts > 1 && (precondition || gone) && (await completedByUs(sorted))) return;
      if (precondition) throw new AlreadyExistsError(`file already exists: ${uri}`, { path: uri });
      throw s3Error('CompleteMultipartUpload', uri, e);
    }
  };

  const sendPart = (data: Uint8Array) => {
    uploadId ??= startUpload();
    const partNumber = nextPart++;
    const p: Promise<void> = (async () => {
      const id = await (uploadId as Promise<string>);
      const etag = await req.send(
        `UploadPart ${partNumber}`,
        uri,
        () =>
          new (s3Sdk().UploadPartCommand)({
            Bucket: bucket,
            Key: key,
            UploadId: id,
            PartNumber: partNumber,
            Body: data,
          }),
        (r: UploadPartCommandOutput) => r.ETag,
      );
      parts.push({ PartNumber: partNumber, ETag: etag });
    })().then(
      () => {
        inflight.delete(p);
      },
      (e) => {
        inflight.delete(p);
        failure ??= e;
      },
    );
    inflight.add(p);
  };

  const abortUpload = async () => {
    await Promise.allSettled([...inflight]);
    if (!uploadId) return;
    const id = await uploadId.catch(() => undefined);
    if (id !== undefined)
      await req.send(
        'AbortMultipartUpload',
        uri,
        () => new (s3Sdk().AbortMultipartUploadCommand)({ Bucket: bucket, Key: key, UploadId: id }),
        () => undefined,
      );
    await abortStrays(id);
  };

  const fail = async (e: unknown): Promise<never> => {
    state = 'aborted';
    buf = undefined;
    await abortUpload().catch(() => {});
    throw e;
  };

  const check = async () => {
    if (state !== 'open') throw new Error(`output stream for ${uri} is ${state}`);
    if (failure !== undefined) await fail(failure);
  };

  return {
    async write(chunk) {
      await check();
      let at = 0;
      while (at < chunk.length) {
        if (!buf) {
          // Wait for a slot: the new buffer plus the parts in flight stay ≤ partsInFlight.
          while (inflight.size >= opts.partsInFlight) await Promise.race(inflight);
          await check();
          buf = new Uint8Array(opts.partSize);
          filled = 0;
        }
        const n = Math.min(chunk.length - at, opts.partSize - filled);
        buf.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === opts.partSize) {
          sendPart(buf);
          buf = undefined;
        }
      }
    },

    async close() {
      await check();
      try {
        if (!uploadId) {
          const whole = (buf ?? new Uint8Array(0)).subarray(0, filled);
          buf = undefined;
          state = 'closed';
          await opts.putWhole(whole);
          return;
        }
        if (buf && filled > 0) sendPart(buf.subarray(0, filled));
        buf = undefined;
        while (inflight.size > 0) await Promise.race(inflight);
        if (failure !== undefined) throw failure;
        const id = await uploadId;
        const sorted = [...parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        await complete(id, sorted);
        state = 'closed';
        // The write stands; strays of a retried create are cleaned up best effort.
        await abortStrays(id).catch(() => {});
      } catch (e) {
        if (state === 'closed') throw e;
        await fail(e);
      }
    },

    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      buf = undefined;
      await abortUpload();
    },
  };
}

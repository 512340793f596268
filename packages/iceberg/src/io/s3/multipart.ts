/**
 * A streaming S3 writer. Bytes fill a part buffer of `partSize`; the first full part
 * starts a multipart upload (CreateMultipartUpload), each full part is sent with
 * UploadPart while the caller keeps writing, and at most `partsInFlight` part buffers exist
 * at once (a write waits for an upload to finish before taking a new buffer), so memory is
 * bounded by partSize × partsInFlight whatever the file size. `close()` sends the last
 * (possibly short) part and CompleteMultipartUpload; a file that never filled one part is
 * written with a single PutObject instead. Any failure aborts the upload
 * (AbortMultipartUpload), so no incomplete upload is left behind to be billed.
 * Spec: https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandOutput,
  UploadPartCommand,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import type { OutputStream } from '../file-io.ts';
import type { S3Requester } from './requester.ts';

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

  const startUpload = () =>
    req.send(
      'CreateMultipartUpload',
      uri,
      () => new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
      (r: CreateMultipartUploadCommandOutput) => {
        if (!r.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
        return r.UploadId;
      },
    );

  const sendPart = (data: Uint8Array) => {
    uploadId ??= startUpload();
    const partNumber = nextPart++;
    const p: Promise<void> = (async () => {
      const id = await (uploadId as Promise<string>);
      const etag = await req.send(
        `UploadPart ${partNumber}`,
        uri,
        () =>
          new UploadPartCommand({
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
    if (id === undefined) return;
    await req.send(
      'AbortMultipartUpload',
      uri,
      () => new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }),
      () => undefined,
    );
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
        await req.send(
          'CompleteMultipartUpload',
          uri,
          () =>
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: id,
              MultipartUpload: { Parts: sorted },
              ...(opts.ifAbsent ? { IfNoneMatch: '*' } : {}),
            }),
          () => undefined,
        );
        state = 'closed';
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

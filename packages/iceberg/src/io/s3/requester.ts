/**
 * Sends one S3 request with the retry policy (./retry.ts) and maps a final failure onto the
 * library's errors (./errors.ts). `pick` runs inside the attempt, so a response body that
 * breaks off mid-stream is retried like any other transient failure.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Error } from './errors.ts';
import { isRetryableS3Error, type RetryPolicy, withRetry } from './retry.ts';

export class S3Requester {
  constructor(
    readonly client: S3Client,
    readonly policy: RetryPolicy,
  ) {}

  /** Like `send`, but a failure is thrown as RetriesExhausted (the raw last error inside). */
  async sendRaw<O, T>(
    make: () => unknown,
    pick: (out: O) => T | Promise<T>,
    isRetryable: (e: unknown) => boolean = isRetryableS3Error,
  ): Promise<T> {
    const send = this.client.send.bind(this.client) as unknown as (c: unknown) => Promise<O>;
    const { value } = await withRetry(this.policy, async () => pick(await send(make())), {
      isRetryable,
    });
    return value;
  }

  async send<O, T>(
    op: string,
    uri: string,
    make: () => unknown,
    pick: (out: O) => T | Promise<T>,
  ): Promise<T> {
    try {
      return await this.sendRaw(make, pick);
    } catch (e) {
      throw s3Error(op, uri, e);
    }
  }
}

/**
 * `s3://bucket/key` URIs (also `s3a://` and `s3n://`, which Hadoop-based writers put in
 * Iceberg metadata). The key is the text after the bucket's slash, taken literally: no
 * percent-decoding, so a partition folder `cat=%C3%BC` is that exact key.
 */
import { IcebergError } from '../../errors.ts';

export interface S3Location {
  readonly scheme: string;
  readonly bucket: string;
  readonly key: string;
}

const S3_URI = /^(s3|s3a|s3n):\/\/([^/]+)(?:\/(.*))?$/;

export function isS3Uri(path: string): boolean {
  return S3_URI.test(path);
}

export function parseS3Uri(path: string): S3Location {
  const m = S3_URI.exec(path);
  if (!m)
    throw new IcebergError('INVALID_ARGUMENT', `not an s3:// URI: ${path}`, { context: { path } });
  return { scheme: m[1] as string, bucket: m[2] as string, key: m[3] ?? '' };
}

export function formatS3Uri(loc: { scheme?: string; bucket: string; key: string }): string {
  return `${loc.scheme ?? 's3'}://${loc.bucket}/${loc.key}`;
}

/**
 * The AWS SDK's S3 client package, loaded on first use rather than when @kice/iceberg is
 * imported: loading it costs every thread ~150 ms of CPU (measured on Node 20 here) and
 * prints the SDK's Node-version notice, though most tables never touch S3. `require` from
 * this module's own location: the package resolves as a dependency of whichever package
 * holds this code (this one installed, or a bundle of it).
 */
import { createRequire } from 'node:module';

export type S3Sdk = typeof import('@aws-sdk/client-s3');

let loaded: S3Sdk | undefined;

export function s3Sdk(): S3Sdk {
  loaded ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as S3Sdk;
  return loaded;
}

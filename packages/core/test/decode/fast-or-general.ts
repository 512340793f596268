/**
 * Decodes a batch of JSON values with the scanner on (`fast`) or off, and returns the
 * result with the indices of the records the scanner gave up on (./fallbacks.ts: the test
 * file must mock decode/scan.ts with countFallbacks).
 */
import type { StructType } from '@kice/iceberg';
import { decodeJsonBatch, useFastScan } from '../../src/decode/json-decoder.ts';
import { fallbackIndices, fallbackStarts } from './fallbacks.ts';

export function decodeWith(values: Buffer[], schema: StructType, fast: boolean) {
  useFastScan(fast);
  const offsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => {
    offsets[i + 1] = (offsets[i] as number) + v.length;
  });
  fallbackStarts.length = 0;
  const result = decodeJsonBatch({ bytes: Buffer.concat(values), offsets, schema });
  return { ...result, fallbacks: fallbackIndices(offsets) };
}

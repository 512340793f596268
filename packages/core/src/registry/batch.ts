/**
 * Worker side of registry formats: runs the batch decoder of a table's format
 * (formats.ts). One entry per format; each decoder keeps its compiled readers per schema
 * text per worker.
 */
import { decodeAvroBatch } from './avro-batch.ts';
import type { RegistryBatchInput, RegistryBatchResult, RegistryFormat } from './formats.ts';
import { decodeJsonSchemaBatch } from './json-schema-batch.ts';

const decoders: Record<RegistryFormat, (input: RegistryBatchInput) => RegistryBatchResult> = {
  avro: decodeAvroBatch,
  'json-schema': decodeJsonSchemaBatch,
};

export function decodeRegistryBatch(
  format: RegistryFormat,
  input: RegistryBatchInput,
): RegistryBatchResult {
  return decoders[format](input);
}

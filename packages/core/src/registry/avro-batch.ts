/**
 * Confluent-framed Avro values → one Arrow RecordBatch: the Avro codec of the registry
 * batch driver (batch-driver.ts, which frames, evolves, rolls back and adds metadata
 * columns). A writer schema maps to an Iceberg struct by avro-schema.ts, and its records
 * are read by an appender generated for it (avro-appender.ts) straight from Avro's binary
 * encoding into the decoder's columns. The coordinator resolves every schema id of the
 * batch before dispatch (resolve.ts), so a worker never asks the registry itself. A field
 * renamed with its old name in `aliases` keeps the old column: the batch's writer schemas
 * are rewritten against the table first (avro-aliases.ts).
 *
 * Spec: https://avro.apache.org/docs/1.12.0/specification/#binary-encoding
 */
import { withAliases } from './avro-aliases.ts';
import { compileAvroAppender } from './avro-appender.ts';
import { avroToIceberg, parseAvroSchema } from './avro-schema.ts';
import { decodeRegistryFrames, type RegistryCodec } from './batch-driver.ts';
import type { RegistryBatchInput, RegistryBatchResult } from './formats.ts';

export const avroCodec: RegistryCodec = {
  name: 'avro',
  toIceberg: (s) => avroToIceberg(parseAvroSchema(s.schema)),
  compileAppender: (s, table) => compileAvroAppender(parseAvroSchema(s.schema), table),
};

export function decodeAvroBatch(input: RegistryBatchInput): RegistryBatchResult {
  return decodeRegistryFrames(avroCodec, withAliases(input));
}

/**
 * Confluent-framed Protobuf values → one Arrow RecordBatch: the Protobuf codec of the
 * registry batch driver (batch-driver.ts, which frames, evolves, rolls back and adds
 * metadata and key columns). Record i is bytes[offsets[i], offsets[i+1]): magic 0, schema
 * id, message indexes, message bytes (registry/protobuf-wire.ts).
 *
 * The message indexes are the codec's variant: they choose the writer message within the
 * schema file, so the driver learns every (schema id, message) of the batch from frame
 * headers first and evolves the table schema with each, before any message is appended.
 * Each writer message maps to an Iceberg
 * struct (registry/protobuf-schema.ts; indexes the file does not have are refused with
 * the reason), and its messages are appended straight into the column tree of the evolved
 * schema (decode/tree.ts) by an appender per writer message and table struct
 * (registry/protobuf-append.ts), no per-record object.
 *
 * Schema texts (with their references) come with the task, resolved on the coordinator
 * (registry/resolve.ts); per worker each schema is parsed once, and indexes are read, by
 * registry/protobuf-writers.ts (shared with Protobuf keys). Evolution is the Avro one: new fields, nested ones too, become optional columns with fresh IDs; int → long and
 * float → double are promoted; a change Iceberg cannot make (string → int…) dead-letters
 * that version's records with the reason while other versions of the batch land.
 * Spec: https://iceberg.apache.org/spec/#schema-evolution
 */
import { decodeRegistryFrames, type RegistryCodec } from './batch-driver.ts';
import type { RegistryBatchInput, RegistryBatchResult } from './formats.ts';
import { MessageAppender } from './protobuf-append.ts';
import { protoToIceberg } from './protobuf-schema.ts';
import { WireReader } from './protobuf-wire.ts';
import { indexesOf, parsedProtoSchema, readIndexes } from './protobuf-writers.ts';

export const protobufCodec: RegistryCodec = {
  name: 'protobuf',
  readVariant: readIndexes,
  toIceberg(s, variant) {
    const p = parsedProtoSchema(s);
    return protoToIceberg(p, p.messageAt(indexesOf(variant)));
  },
  compileAppender(s, _table, variant) {
    const p = parsedProtoSchema(s);
    const type = p.root.lookupType(p.messageAt(indexesOf(variant)));
    return {
      bind(root) {
        const a = new MessageAppender(type, root);
        let r: WireReader | undefined;
        return (bytes, start, end) => {
          if (r?.buf !== bytes) r = new WireReader(bytes);
          r.pos = start;
          r.end = end;
          a.append(r, end);
        };
      },
    };
  },
};

export function decodeProtobufBatch(input: RegistryBatchInput): RegistryBatchResult {
  return decodeRegistryFrames(protobufCodec, input);
}

/**
 * Avro records framed and encoded by Confluent's own serializer (confluent-kafka's
 * AvroSerializer, test/support/produce_registry.py) through the real registry
 * (test/infra/schema-registry.sh) and the real broker, read back raw from Kafka and
 * decoded by kice's registry client and Avro batch decoder (frames, schema ids, the
 * compiled reader of each schema, Arrow): every logical type, nested types, unions, and
 * each bad-input class with its reason.
 */
import { arrowValueToIceberg } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAvroBatch } from '../../packages/core/src/registry/avro-batch.ts';
import { avroToIceberg, parseAvroSchema } from '../../packages/core/src/registry/avro-schema.ts';
import { SchemaRegistryClient } from '../../packages/core/src/registry/client.ts';
import { schemaRegistrySchema } from '../../packages/core/src/registry/config.ts';
import { resolveBatchSchemas } from '../../packages/core/src/registry/resolve.ts';
import {
  EVERY_TYPE_EXPECTED as EXPECTED,
  EVERY_TYPE_ROWS as ROWS,
  EVERY_TYPE_SCHEMA as SCHEMA,
} from '../support/avro-fixtures.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, readTopic } from '../support/produce.ts';
import { produceAvro, startRegistry } from '../support/schema-registry.ts';

let broker: string;
let registry: string;
let client: SchemaRegistryClient;

/** What the decode path does with a record: ids resolved, then the worker's batch decoder;
 * the row read back from its Arrow output, or its error's reason thrown. */
async function decodeValue(value: Buffer): Promise<Record<string, unknown>> {
  const bytes = new Uint8Array(value);
  const offsets = Int32Array.of(0, bytes.length);
  const { schemas, unknown } = await resolveBatchSchemas(client, bytes, offsets);
  const r = decodeAvroBatch({
    bytes,
    offsets,
    schemas,
    unknown,
    schema: { type: 'struct', fields: [] },
  });
  if (r.errors.length > 0) throw new Error(r.errors[0]?.reason);
  const t = arrow.tableFromIPC(r.ipc);
  const row: Record<string, unknown> = {};
  for (const f of r.schema.fields) {
    const v = arrowValueToIceberg(f.type, t.getChild(f.name)?.get(0));
    // Arrow's DateDay getter answers epoch milliseconds; the column holds days.
    row[f.name] = f.type === 'date' && typeof v === 'number' ? v / 86_400_000 : v;
  }
  return row;
}

beforeAll(async () => {
  [broker, registry] = await Promise.all([startKafka(), startRegistry()]);
  client = new SchemaRegistryClient(schemaRegistrySchema.parse({ url: registry }), {
    maxAttempts: 3,
  });
});

describe('Avro from confluent-kafka AvroSerializer', () => {
  it('decodes every logical type, nested types and unions exactly', async () => {
    const topic = `avro-all-${Date.now()}`;
    await createTopic([broker], topic, 1);
    const [ids] = await produceAvro(broker, registry, topic, [{ schema: SCHEMA, rows: ROWS }]);
    expect(ids?.length).toBe(2);
    expect(ids?.[0]).toBe(ids?.[1]);
    const records = await readTopic([broker], topic);
    const rows = await Promise.all(records.map((r) => decodeValue(r.value as Buffer)));
    expect(rows).toEqual(EXPECTED);
    // The mapped Iceberg struct of the registered schema text.
    const text = (await client.getSchema(ids?.[0] as number)).schema;
    const struct = avroToIceberg(parseAvroSchema(text));
    expect(
      struct.fields.map((f) => `${f.name}:${typeof f.type === 'string' ? f.type : f.type.type}`),
    ).toEqual([
      'i:int',
      'l:long',
      'f:float',
      'd:double',
      'b:boolean',
      's:string',
      'by:binary',
      'dec:decimal(9, 2)',
      'u:uuid',
      'dt:date',
      'tm:time',
      'tu:time',
      'tsm:timestamptz',
      'tsu:timestamptz',
      'ltm:timestamp',
      'ltu:timestamp',
      'fx:fixed[4]',
      'en:string',
      'addr:struct',
      'tags:list',
      'm:map',
      'opt:long',
      'un:struct',
    ]);
  });

  it('each bad-input class fails with its reason', async () => {
    const topic = `avro-bad-${Date.now()}`;
    await createTopic([broker], topic, 1);
    const small = {
      type: 'record',
      name: 'Small',
      fields: [
        { name: 's', type: 'string' },
        { name: 'n', type: 'long' },
      ],
    };
    const [ids] = await produceAvro(broker, registry, topic, [
      { schema: small, rows: [{ s: 'abcdef', n: 1 }] },
    ]);
    const good = (await readTopic([broker], topic))[0]?.value as Buffer;
    const idHex = Number(ids?.[0]).toString(16).padStart(8, '0');
    await produceAvro(broker, registry, topic, [
      { raw: `01${idHex}${good.subarray(5).toString('hex')}` },
      { raw: `00${(987_654).toString(16).padStart(8, '0')}0c616263646566` },
      { raw: good.subarray(0, good.length - 3).toString('hex') },
      { raw: `${good.toString('hex')}00` },
      { raw: '0000' },
    ]);
    const records = await readTopic([broker], topic);
    expect(await decodeValue(records[0]?.value as Buffer)).toEqual({ s: 'abcdef', n: 1n });
    const reasons = await Promise.all(
      records.slice(1).map((r) =>
        decodeValue(r.value as Buffer).then(
          () => 'decoded',
          (e: Error) => e.message,
        ),
      ),
    );
    expect(reasons).toEqual([
      'not a Schema Registry frame: magic byte is 1, expected 0',
      "unknown schema id 987654: the registry answered 404 (No content with ID '987654' was found. error_code 40403)",
      'truncated Avro payload: 5 bytes end inside the datum',
      'corrupt Avro payload: 1 bytes left after the datum',
      'not a Schema Registry frame: 2 bytes, the header alone is 5',
    ]);
  });
});

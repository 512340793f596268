/**
 * Avro records framed and encoded by Confluent's own serializer (confluent-kafka's
 * AvroSerializer, test/support/produce_registry.py) through the real registry
 * (test/infra/schema-registry.sh) and the real broker, read back raw from Kafka and
 * decoded by kice's frame reader, registry client and Avro reader: every logical type,
 * nested types, unions, and each bad-input class with its reason.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compileAvroReader } from '../../packages/core/src/registry/avro-decoder.ts';
import { avroToIceberg, parseAvroSchema } from '../../packages/core/src/registry/avro-schema.ts';
import { SchemaRegistryClient } from '../../packages/core/src/registry/client.ts';
import { schemaRegistrySchema } from '../../packages/core/src/registry/config.ts';
import { readFrame } from '../../packages/core/src/registry/frame.ts';
import { startKafka } from '../support/kafka.ts';
import { createTopic, readTopic } from '../support/produce.ts';
import { produceAvro, startRegistry } from '../support/schema-registry.ts';

const SCHEMA = {
  type: 'record',
  name: 'Everything',
  namespace: 'kice.test',
  fields: [
    { name: 'i', type: 'int' },
    { name: 'l', type: 'long' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'b', type: 'boolean' },
    { name: 's', type: 'string' },
    { name: 'by', type: 'bytes' },
    { name: 'dec', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
    { name: 'u', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'dt', type: { type: 'int', logicalType: 'date' } },
    { name: 'tm', type: { type: 'int', logicalType: 'time-millis' } },
    { name: 'tu', type: { type: 'long', logicalType: 'time-micros' } },
    { name: 'tsm', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'tsu', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'ltm', type: { type: 'long', logicalType: 'local-timestamp-millis' } },
    { name: 'ltu', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
    { name: 'fx', type: { type: 'fixed', name: 'Four', size: 4 } },
    { name: 'en', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
    {
      name: 'addr',
      type: {
        type: 'record',
        name: 'Address',
        fields: [
          { name: 'city', type: 'string' },
          { name: 'zip', type: ['null', 'string'], default: null },
        ],
      },
    },
    { name: 'tags', type: { type: 'array', items: ['null', 'string'] } },
    { name: 'm', type: { type: 'map', values: 'long' } },
    { name: 'opt', type: ['null', 'long'], default: null },
    { name: 'un', type: ['null', 'int', 'string'], default: null },
  ],
};

const ROWS = [
  {
    i: -7,
    l: { $int: '9007199254740993' },
    f: 1.5,
    d: -0.25,
    b: true,
    s: 'héllo',
    by: { $b: '00ff10' },
    dec: { $dec: '-12345.67' },
    u: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    dt: { $date: 19783 },
    tm: { $timeus: 45296789000 },
    tu: { $timeus: 45296789012 },
    tsm: { $tsus: 1709251200123000 },
    tsu: { $tsus: 1709251200123456 },
    ltm: { $ltsus: 1709251200123000 },
    ltu: { $ltsus: -1 },
    fx: { $b: 'deadbeef' },
    en: 'GREEN',
    addr: { city: 'Oslo', zip: null },
    tags: ['a', null],
    m: { x: 1, y: -2 },
    opt: null,
    un: 3,
  },
  {
    i: 2147483647,
    l: { $int: '-9223372036854775808' },
    f: -2.5,
    d: 1e300,
    b: false,
    s: '',
    by: { $b: '' },
    dec: { $dec: '9999999.99' },
    u: '00000000-0000-0000-0000-000000000000',
    dt: { $date: -1 },
    tm: { $timeus: 0 },
    tu: { $timeus: 86399999999 },
    tsm: { $tsus: -1000 },
    tsu: { $tsus: 0 },
    ltm: { $ltsus: 0 },
    ltu: { $ltsus: 1 },
    fx: { $b: '00000000' },
    en: 'RED',
    addr: { city: 'Bergen', zip: '5003' },
    tags: [],
    m: {},
    opt: 5,
    un: 'text',
  },
];

const EXPECTED = [
  {
    i: -7,
    l: 9007199254740993n,
    f: 1.5,
    d: -0.25,
    b: true,
    s: 'héllo',
    by: Uint8Array.of(0, 0xff, 0x10),
    dec: -1234567n,
    u: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    dt: 19783,
    tm: 45296789000n,
    tu: 45296789012n,
    tsm: 1709251200123000n,
    tsu: 1709251200123456n,
    ltm: 1709251200123000n,
    ltu: -1n,
    fx: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
    en: 'GREEN',
    addr: { city: 'Oslo', zip: null },
    tags: ['a', null],
    m: new Map([
      ['x', 1n],
      ['y', -2n],
    ]),
    opt: null,
    un: { int: 3, string: null },
  },
  {
    i: 2147483647,
    l: -9223372036854775808n,
    f: -2.5,
    d: 1e300,
    b: false,
    s: '',
    by: new Uint8Array(0),
    dec: 999999999n,
    u: '00000000-0000-0000-0000-000000000000',
    dt: -1,
    tm: 0n,
    tu: 86399999999n,
    tsm: -1000n,
    tsu: 0n,
    ltm: 0n,
    ltu: 1n,
    fx: Uint8Array.of(0, 0, 0, 0),
    en: 'RED',
    addr: { city: 'Bergen', zip: '5003' },
    tags: [],
    m: new Map(),
    opt: 5n,
    un: { int: null, string: 'text' },
  },
];

let broker: string;
let registry: string;
let client: SchemaRegistryClient;

/** What the decode path does per record: frame → schema (cached) → Avro reader → row. */
async function decodeValue(value: Buffer): Promise<Record<string, unknown>> {
  const frame = readFrame(value);
  const s = await client.getSchema(frame.schemaId);
  return compileAvroReader(parseAvroSchema(s.schema) as never).decode(value, frame.payloadOffset);
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

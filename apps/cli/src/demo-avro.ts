/**
 * The demo's Avro topic (`kice demo --avro`): payment events in Avro through a Schema
 * Registry. Starts the local registry (test/infra/schema-registry.sh, Apicurio with its
 * Confluent-compatible API), registers the payment schema under `<topic>-value`, and
 * encodes each event as Confluent's serializers frame it: magic byte 0, the 4-byte
 * big-endian schema id, then the Avro binary datum. The encoder below writes exactly this
 * one schema (it is the demo's producer, not a general Avro encoder).
 *
 * Wire format: https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 * Avro binary encoding: https://avro.apache.org/docs/1.12.0/specification/#binary-encoding
 */

export const PAYMENT_SCHEMA = {
  type: 'record',
  name: 'Payment',
  namespace: 'kice.demo',
  fields: [
    { name: 'payment_id', type: 'string' },
    { name: 'order_id', type: 'string' },
    { name: 'user_id', type: 'long' },
    { name: 'amount', type: 'double' },
    {
      name: 'currency',
      type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD', 'GBP', 'JPY'] },
    },
    {
      name: 'method',
      type: { type: 'enum', name: 'Method', symbols: ['card', 'paypal', 'sepa', 'applepay'] },
    },
    { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
} as const;

const CURRENCIES = PAYMENT_SCHEMA.fields[4].type.symbols;
const METHODS = PAYMENT_SCHEMA.fields[5].type.symbols;

/** Registers the schema under `subject` (idempotent: the same text keeps its id); resolves with the id. */
export async function registerPaymentSchema(registry: string, subject: string): Promise<number> {
  const res = await fetch(`${registry}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(PAYMENT_SCHEMA) }),
  });
  const body = (await res.json().catch(() => ({}))) as { id?: unknown };
  if (!res.ok || typeof body.id !== 'number')
    throw new Error(`registering ${subject}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

/** Appends Avro's zigzag varint of a long. */
function long(out: number[], n: bigint): void {
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
}

function string(out: number[], s: string): void {
  const b = Buffer.from(s, 'utf8');
  long(out, BigInt(b.length));
  for (const x of b) out.push(x);
}

function double(out: number[], d: number): void {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(d);
  for (const x of b) out.push(x);
}

/** Payment i, Confluent-framed under `schemaId`. */
export function paymentRecord(i: number, schemaId: number): Buffer {
  const out: number[] = [
    0,
    (schemaId >>> 24) & 0xff,
    (schemaId >>> 16) & 0xff,
    (schemaId >>> 8) & 0xff,
    schemaId & 0xff,
  ];
  string(out, `p-${i}`);
  string(out, `o-${i * 3}`);
  long(out, BigInt(i % 20000));
  double(out, Math.round(Math.random() * 50000) / 100);
  long(out, BigInt(i % CURRENCIES.length));
  long(out, BigInt((i * 7) % METHODS.length));
  long(out, BigInt(Date.now()));
  if (i % 10 === 0) {
    long(out, 1n); // union branch 1: string
    string(out, 'gift');
  } else long(out, 0n); // branch 0: null
  return Buffer.from(out);
}

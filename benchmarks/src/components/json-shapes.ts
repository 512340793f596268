/**
 * Two more JSON shapes of the benchmark event (data.ts makeEvent) for the decode
 * component, each exercising a path the plain event never takes:
 *
 * - escaped: the event plus a `message` string written with escapes (\" \\ \n \t and
 *   every non-ASCII character as \uXXXX, astral ones as a surrogate pair), as a producer
 *   that escapes non-ASCII (Jackson's ESCAPE_NON_ASCII, Python's json.dumps default) writes
 *   it; the non-ASCII city names of the event are escaped the same way.
 * - map: the event plus `attrs`, a JSON object of 0–5 string entries, decoded against a
 *   table whose `attrs` column is a map<string, string> (a map the table's schema
 *   declares; inference alone makes a struct of a JSON object).
 *
 * JSON escapes: https://www.rfc-editor.org/rfc/rfc8259#section-7
 */
import type { StructType } from '@kice/iceberg';
import { maxFieldId } from '@kice/iceberg';
import { decodeJsonBatch } from '../../../packages/core/src/decode/json-decoder.ts';
import { makeEvent } from '../data.ts';

const MESSAGES = [
  'clicked "buy now"\n\tqty\\size: 42',
  'Suche nach „Schuhe“ – Größe 42',
  'café ☕ naïve résumé',
  'emoji 😀 and 🚀 in a path C:\\tmp\\x',
  'plain words only here',
];

/** JSON text with every non-ASCII UTF-16 unit written as \uXXXX. */
function escapeNonAscii(json: string): string {
  return json.replace(
    /[\u0080-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Event `i` with an escaped `message` string. */
export function escapedEventBytes(i: number): Buffer {
  const e = { ...makeEvent(i), message: `${MESSAGES[i % MESSAGES.length]} #${i}` };
  return Buffer.from(escapeNonAscii(JSON.stringify(e)));
}

/** Event `i` with an `attrs` object of (i % 6) entries. */
export function mapEventBytes(i: number): Buffer {
  const attrs: Record<string, string> = {};
  for (let k = 0; k < i % 6; k++) attrs[`k${(i + k) % 17}`] = `v-${i % 97}-${k}`;
  return Buffer.from(JSON.stringify({ ...makeEvent(i), attrs }));
}

/** The table schema for mapEventBytes: the inferred event columns + attrs as a map. */
export function mapEventSchema(bytes: Uint8Array, offsets: Int32Array): StructType {
  const empty: StructType = { type: 'struct', fields: [] };
  const inferred = decodeJsonBatch({ bytes, offsets, schema: empty }).schema;
  const fields = inferred.fields.filter((f) => f.name !== 'attrs');
  const id = maxFieldId({ type: 'struct', fields }) + 1;
  return {
    type: 'struct',
    fields: [
      ...fields,
      {
        id,
        name: 'attrs',
        required: false,
        type: {
          type: 'map',
          keyId: id + 1,
          key: 'string',
          valueId: id + 2,
          value: 'string',
          valueRequired: false,
        },
      },
    ],
  };
}

/**
 * The generated appenders (decode/compiled.ts) against the general ones: on random records
 * that add fields, promote types, nest objects, break types and get rolled back, both give
 * byte-identical Arrow IPC, the same errors and the same schema.
 */
import type { StructType } from '@kice/iceberg';
import { afterEach, describe, expect, it } from 'vitest';
import { useGeneratedAppenders } from '../../src/decode/append.ts';
import { decodeJsonBatch } from '../../src/decode/json-decoder.ts';
import { pack, rng } from './helpers.ts';

/** Mostly well-typed events, with the odd surprise in every field. */
function records(n: number, seed: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  const surprise = () => [null, 'x', 1.5, 2 ** 40, true, [1], { a: 1 }][Math.floor(r() * 7)];
  for (let i = 0; i < n; i++) {
    const o: Record<string, unknown> = {
      id: i,
      name: `u${i % 17}`,
      price: r() * 100,
      ok: r() < 0.5,
      geo: { country: ['FR', 'US', 'JP'][i % 3], lat: r() * 90 },
    };
    if (r() < 0.1) o[`extra${Math.floor(r() * 5)}`] = Math.floor(r() * 1000);
    if (r() < 0.05) o.geo = { ...(o.geo as object), city: 'Paris', zip: Math.floor(r() * 1e5) };
    if (r() < 0.03) o.count = i > n / 2 ? r() : i; // int that starts carrying floats
    if (r() < 0.05)
      o[['id', 'name', 'price', 'ok', 'geo'][Math.floor(r() * 5)] as string] = surprise();
    if (r() < 0.02) delete o.name;
    if (r() < 0.01) out.push('{not json');
    else out.push(JSON.stringify(o));
  }
  return out;
}

function decodeBoth(values: string[], schema: StructType, generated: boolean) {
  useGeneratedAppenders(generated);
  const { bytes, offsets } = pack(values);
  return decodeJsonBatch({ bytes, offsets, schema, hints: {}, relaxedFieldIds: [] });
}

afterEach(() => useGeneratedAppenders(true));

describe('generated appenders', () => {
  for (const seed of [11, 12, 13]) {
    it(`decode exactly like the general ones (seed ${seed})`, () => {
      let schemaG: StructType = { type: 'struct', fields: [] };
      let schemaS: StructType = { type: 'struct', fields: [] };
      // Several batches, each starting from the schema the previous one evolved to.
      for (let b = 0; b < 4; b++) {
        const values = records(800, seed * 10 + b);
        const g = decodeBoth(values, schemaG, true);
        const s = decodeBoth(values, schemaS, false);
        expect(g.errors).toEqual(s.errors);
        expect(g.schema).toEqual(s.schema);
        expect(g.rows).toBe(s.rows);
        expect(Buffer.from(g.ipc).equals(Buffer.from(s.ipc))).toBe(true);
        // The data really exercises the slow paths: rejected records and new columns.
        expect(g.errors.length).toBeGreaterThan(0);
        schemaG = g.schema;
        schemaS = s.schema;
      }
      expect(schemaG.fields.map((f) => f.name)).toContain('extra0');
    });
  }

  it('a promotion made by the general path is never bypassed by a fast path', () => {
    // "n" is generated as an int column; 2^40 promotes it to long mid-batch, then 2.5 is
    // refused (a long never becomes a double once committed: relaxedFieldIds is empty).
    const schema: StructType = {
      type: 'struct',
      fields: [{ id: 1, name: 'n', required: false, type: 'int' }],
    };
    const r = decodeBoth(['{"n":1}', `{"n":${2 ** 40}}`, '{"n":3}'], schema, true);
    expect(r.errors).toEqual([]);
    expect(r.schema.fields[0]?.type).toBe('long');
    const s = decodeBoth(['{"n":1}', `{"n":${2 ** 40}}`, '{"n":3}'], schema, false);
    expect(Buffer.from(r.ipc).equals(Buffer.from(s.ipc))).toBe(true);
  });
});

/**
 * Registry formats declare their column types: when batches of two schema versions decode
 * at once (two partitions, nothing committed yet) and the second version changes a
 * column's type, the merge must not relax the table's column (long → double, long →
 * string) the way JSON inference does before the first commit. The second batch is
 * decoded again under the merged schema, and its records are dead-lettered with the
 * reason. The same holds for the key column of a registry key format on a JSON table
 * (the rest of which merges relaxed). The pool runs the real decoders in this thread.
 */
import type { Schema } from '@kice/iceberg';
import { describe, expect, it } from 'vitest';
import { decodeJsonBatch } from '../../src/decode/json-decoder.ts';
import { finishDecode, type TaskPool } from '../../src/pipeline/decode-stage.ts';
import type { PreparedBatch } from '../../src/pipeline/prepare-batch.ts';
import type { TableRuntime } from '../../src/pipeline/routing.ts';
import { decodeRegistryBatch } from '../../src/registry/batch.ts';
import { type DecodeTask, packDecodeResult } from '../../src/workers/tasks.ts';

/** The real registry decoder, in this thread. */
const pool: TaskPool = {
  async run(task: unknown) {
    const t = task as DecodeTask;
    if (!t.registry) throw new Error('not a registry task');
    const r = decodeRegistryBatch(t.registry.format, {
      bytes: t.bytes,
      offsets: t.offsets,
      schema: t.schema,
      schemas: t.registry.schemas,
      unknown: t.registry.unknown,
    });
    return packDecodeResult({ ok: true, ...r, placeholders: [] });
  },
};

function batch(id: number, json: string): PreparedBatch {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  const bytes = new Uint8Array(Buffer.concat([head, Buffer.from(json)]));
  const offsets = Int32Array.from([0, bytes.length]);
  return {
    bytes,
    offsets,
    raw: { bytes, offsets },
    nulls: new Uint8Array(1),
    oversized: new Map(),
  };
}

const EMPTY: Schema = { type: 'struct', schemaId: 0, fields: [] };
const s = (id: unknown) => JSON.stringify({ type: 'object', properties: { id } });
const log = { debug() {}, warn() {} };

describe('registry formats: no relaxed merge before the first commit', () => {
  for (const [v2, json, reason] of [
    [{ type: 'number' }, '{"id": 1.5}', 'schema id 2: field "id": cannot change long to double'],
    [{ type: 'string' }, '{"id": "x"}', 'schema id 2: field "id": cannot change long to string'],
  ] as const) {
    it(`integer, then ${v2.type} in a batch decoded at the same time: dead-lettered`, async () => {
      const t = {
        name: 'ns.events',
        config: { format: 'json-schema', typeConflicts: 'asString' },
        hints: {},
        observed: EMPTY,
        placeholders: new Set<string>(),
        state: undefined,
        flushing: false,
      } as unknown as TableRuntime;
      const registry = {
        format: 'json-schema' as const,
        schemas: {
          1: { schema: s({ type: 'integer' }), references: [] },
          2: { schema: s(v2), references: [] },
        },
        unknown: {},
      };
      const task = (b: PreparedBatch) => ({
        kind: 'decode',
        bytes: b.bytes,
        offsets: b.offsets,
        schema: t.observed,
        registry,
      });
      const a = batch(1, '{"id": 1}');
      const b = batch(2, json);
      // Both decode against the empty table before either merges.
      const [ra, rb] = [pool.run(task(a)), pool.run(task(b))];
      const da = await finishDecode(pool, t, a, ra, {}, log);
      expect(da.errors).toEqual([]);
      // The re-decode runs under the merged schema: a task built from it.
      const redecoding: TaskPool = { run: () => pool.run(task(b)) };
      const db = await finishDecode(redecoding, t, b, rb, {}, log);
      expect(db.rows).toBe(0);
      expect(db.errors).toEqual([{ index: 0, reason }]);
      expect(t.observed.fields).toEqual([{ id: 1, name: 'id', required: false, type: 'long' }]);
    });
  }
});

describe('registry keys on a JSON table: the key column is not relaxed before the first commit', () => {
  it('an integer key field, then a number one in a batch decoded at the same time: the key is dead-lettered', async () => {
    const t = {
      name: 'ns.keyed',
      config: {
        format: 'json',
        typeConflicts: 'asString',
        key: { format: 'json-schema', column: 'k' },
      },
      hints: {},
      observed: EMPTY,
      placeholders: new Set<string>(),
      state: undefined,
      flushing: false,
    } as unknown as TableRuntime;
    const keySchemas = {
      schemas: {
        1: { schema: s({ type: 'integer' }), references: [] },
        2: { schema: s({ type: 'number' }), references: [] },
      },
      unknown: {},
    };
    const keyed = (id: number, key: string): PreparedBatch => {
      const k = batch(id, key);
      const bytes = new Uint8Array(Buffer.from('{"v": 1}'));
      const offsets = Int32Array.from([0, bytes.length]);
      return {
        bytes,
        offsets,
        raw: { bytes, offsets },
        nulls: new Uint8Array(1),
        oversized: new Map(),
        metadata: {
          spec: { key: { column: 'k', format: 'json-schema' } },
          records: {
            topic: 't',
            partition: 0,
            recordOffsets: BigInt64Array.of(0n),
            timestamps: Float64Array.of(0),
            keys: { bytes: k.bytes, offsets: k.offsets, nulls: Uint8Array.of(0) },
            keySchemas,
          },
        },
      };
    };
    const jsonPool: TaskPool = {
      async run(task: unknown) {
        const d = task as DecodeTask;
        const r = decodeJsonBatch({
          bytes: d.bytes,
          offsets: d.offsets,
          schema: d.schema,
          ...(d.metadata ? { metadata: d.metadata } : {}),
        });
        return packDecodeResult({ ok: true, ...r });
      },
    };
    const task = (b: PreparedBatch) => ({
      kind: 'decode',
      bytes: b.bytes,
      offsets: b.offsets,
      schema: t.observed,
      metadata: b.metadata,
    });
    const a = keyed(1, '{"id": 1}');
    const b = keyed(2, '{"id": 1.5}');
    const [ra, rb] = [jsonPool.run(task(a)), jsonPool.run(task(b))];
    const da = await finishDecode(jsonPool, t, a, ra, {}, log);
    expect(da.errors).toEqual([]);
    const redecoding: TaskPool = { run: () => jsonPool.run(task(b)) };
    const db = await finishDecode(redecoding, t, b, rb, {}, log);
    expect(db.errors).toEqual([
      { index: 0, reason: 'key: schema id 2: field "k.id": cannot change long to double' },
    ]);
    expect(t.observed.fields.find((f) => f.name === 'k')?.type).toEqual({
      type: 'struct',
      fields: [{ id: 3, name: 'id', required: false, type: 'long' }],
    });
  });
});

/**
 * The last resort of the decode stage: a batch that still does not fit the table after
 * every re-decode is dead-lettered record by record (the reason names the field), not a
 * fatal error that would stop the engine on the same records at every restart. A FAKE pool
 * stands in for a decoder that disagrees with the schema merge (the real decoder never
 * does, under an unchanged schema: test/pipeline/redecode.test.ts covers the real one).
 */
import type { Schema } from '@kice/iceberg';
import { describe, expect, it } from 'vitest';
import { finishDecode, type TaskPool } from '../../src/pipeline/decode-stage.ts';
import type { PreparedBatch } from '../../src/pipeline/prepare-batch.ts';
import type { TableRuntime } from '../../src/pipeline/routing.ts';
import { type DecodeTaskResult, packDecodeResult } from '../../src/workers/tasks.ts';

const TABLE: Schema = {
  type: 'struct',
  schemaId: 1,
  fields: [{ id: 1, name: 'x', required: false, type: 'long' }],
};

/** What the fake decoder returns for every task: `x` as a list, record 1 refused. */
const MISFIT: DecodeTaskResult = {
  ok: true,
  ipc: new Uint8Array(0),
  rows: 2,
  errors: [{ index: 1, reason: 'field "y": expected long, got string' }],
  schema: {
    type: 'struct',
    fields: [
      {
        id: 2,
        name: 'x',
        required: false,
        type: { type: 'list', elementId: 3, element: 'long', elementRequired: false },
      },
    ],
  },
  changed: true,
  placeholders: [],
};

/** A FAKE pool: every decode observes the same misfit. */
class MisfitPool implements TaskPool {
  runs = 0;
  async run(): Promise<unknown> {
    this.runs++;
    return packDecodeResult(MISFIT);
  }
}

describe('finishDecode', () => {
  it('dead-letters a batch that still does not fit after every re-decode', async () => {
    const pool = new MisfitPool();
    const t = {
      name: 'ns.events',
      config: { typeConflicts: 'asString' },
      hints: {},
      observed: TABLE,
      placeholders: new Set<string>(),
      state: { schema: TABLE },
      flushing: false,
    } as unknown as TableRuntime;
    const offsets = Int32Array.from([0, 1, 2, 3]);
    const bytes = new Uint8Array(3);
    const b: PreparedBatch = {
      bytes,
      offsets,
      raw: { bytes, offsets },
      nulls: new Uint8Array(3),
      oversized: new Map(),
    };
    const warnings: string[] = [];
    const log = { debug() {}, warn: (_o: object, msg?: string) => warnings.push(msg ?? '') };
    const result = await finishDecode(pool, t, b, pool.run(), {}, log);
    expect(result.rows).toBe(0);
    expect(result.errors).toEqual([
      { index: 0, reason: 'field "x": cannot change long to list' },
      { index: 1, reason: 'field "y": expected long, got string' },
      { index: 2, reason: 'field "x": cannot change long to list' },
    ]);
    expect(t.observed).toBe(TABLE);
    expect(pool.runs).toBe(4); // the first decode and three re-decodes
    expect(warnings).toEqual(['a batch does not fit the table after re-decoding; dead-lettered']);
  });
});

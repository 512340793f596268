import { FIELD_ID_KEY, type Schema } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import type { InFlightBudget } from '../../src/pipeline/memory-budget.ts';
import type { BufferedBatch } from '../../src/pipeline/table-buffer.ts';
import {
  canonicalKey,
  ENTRY_OVERHEAD_BYTES,
  hotRow,
  KeyIndex,
  keyFilter,
  keyValue,
} from '../../src/query/key-index.ts';

const schema: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: '_key', required: false, type: 'string' },
    { id: 2, name: 'v', required: false, type: 'long' },
  ],
};

function ipcOf(keys: (string | null)[], vs: bigint[]): Uint8Array {
  const meta = (id: number) => new Map([[FIELD_ID_KEY, String(id)]]);
  const s = new arrow.Schema([
    new arrow.Field('_key', new arrow.Utf8(), true, meta(1)),
    new arrow.Field('v', new arrow.Int64(), true, meta(2)),
  ]);
  return arrow.tableToIPC(
    new arrow.Table(s, {
      _key: arrow.vectorFromArray(keys, new arrow.Utf8()),
      v: arrow.vectorFromArray(vs, new arrow.Int64()),
    }),
    'stream',
  );
}

function batch(from: bigint, keys: (string | null)[], vs: bigint[]): BufferedBatch {
  return {
    topic: 't',
    partition: 0,
    from,
    to: from + BigInt(keys.length),
    ipc: ipcOf(keys, vs),
    rows: keys.length,
  };
}

function budget(): InFlightBudget & { used: number } {
  return {
    paused: false,
    used: 0,
    reserve(n) {
      this.used += n;
    },
    release(n) {
      this.used -= n;
    },
    freeze() {},
  };
}

const cost = (k: string) => ENTRY_OVERHEAD_BYTES + 2 * canonicalKey(k).length;

describe('KeyIndex', () => {
  it('keeps the newest row per key, counts its entries in the budget, forgets gone batches', () => {
    const b = budget();
    const index = new KeyIndex('_key', b);
    const one = batch(0n, ['a', 'b'], [1n, 2n]);
    const two = batch(2n, ['a'], [3n]);
    index.sync([one, two]);
    expect(b.used).toBe(2 * cost('a') + cost('b'));
    expect(index.bytes).toBe(b.used);
    const hit = index.lookup('a');
    expect(hit && hotRow(hit, schema)).toEqual({ _key: 'a', v: 3n });
    expect(hotRow(index.lookup('b') ?? (undefined as never), schema)).toEqual({ _key: 'b', v: 2n });
    expect(index.lookup('c')).toBeUndefined();
    // `one` committed and left the view: its entries go, `two`'s stay.
    index.sync([two]);
    expect(b.used).toBe(cost('a'));
    expect(index.lookup('b')).toBeUndefined();
    expect(index.lookup('a')?.batch).toBe(two);
    index.clear();
    expect(b.used).toBe(0);
  });
});

describe('keys', () => {
  it('compares integers alike whether number or bigint, objects by their fields', () => {
    expect(canonicalKey({ b: 2n, a: 'x' })).toBe(canonicalKey({ a: 'x', b: 2 }));
    expect(canonicalKey('5')).not.toBe(canonicalKey(5));
  });

  it('reads the key as the key column holds it', () => {
    const bytes = new TextEncoder().encode('{"id":7}');
    expect(keyValue(schema, '_key', bytes)).toBe('{"id":7}');
    const json: Schema = {
      ...schema,
      fields: [{ id: 1, name: '_key', required: false, type: 'long' }],
    };
    expect(keyValue(json, '_key', '7')).toBe(7);
    expect(keyValue(json, '_key', new TextEncoder().encode('7'))).toBe(7);
  });

  it('filters on the key column, field by field for a struct key', () => {
    expect(keyFilter('_key', 'a')).toEqual({ op: 'eq', ref: '_key', value: 'a' });
    expect(keyFilter('_key', { id: 1, r: 'x' })).toEqual({
      op: 'and',
      left: { op: 'eq', ref: '_key.id', value: 1 },
      right: { op: 'eq', ref: '_key.r', value: 'x' },
    });
  });
});

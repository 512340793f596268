import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ScratchBytes, sharedBytes, tableToIpcInto } from '../../src/arrow/ipc-bytes.ts';
import { icebergRowsToArrow } from '../../src/arrow/values.ts';
import { ALL_TYPES, ALL_TYPES_ROWS } from './all-types.ts';

const all = icebergRowsToArrow(ALL_TYPES, ALL_TYPES_ROWS);

describe('tableToIpcInto', () => {
  const cases: [string, arrow.Table][] = [
    ['every type and nesting', all],
    ['several record batches', all.concat(all, all)],
    ['a slice that starts mid-batch', all.concat(all).slice(1, all.numRows + 1)],
    ['no rows', all.slice(0, 0)],
    ['no batches', new arrow.Table(all.schema)],
  ];
  for (const [name, table] of cases) {
    it(`writes exactly what tableToIPC writes: ${name}`, () => {
      const expected = arrow.tableToIPC(table, 'stream');
      const shared = tableToIpcInto(table, sharedBytes);
      expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(shared.byteLength).toBe(shared.buffer.byteLength);
      expect(Buffer.from(shared).equals(Buffer.from(expected))).toBe(true);
      // And it reads back to the same rows.
      expect(arrow.tableFromIPC(shared).toArray().map(String)).toEqual(table.toArray().map(String));
    });
  }

  it('refuses an alloc that returns the wrong size, naming both', () => {
    expect(() => tableToIpcInto(all, (n) => new Uint8Array(n - 1))).toThrow(
      /^alloc returned \d+ bytes for \d+$/,
    );
  });
});

describe('ScratchBytes', () => {
  it('lends the same memory again, grows it, and gives fresh memory above its cap', () => {
    const s = new ScratchBytes(1000);
    const a = s.alloc(100);
    expect(a.byteLength).toBe(100);
    const b = s.alloc(50);
    expect(b.buffer).toBe(a.buffer);
    const c = s.alloc(300);
    expect(c.byteLength).toBe(300);
    expect(c.buffer).not.toBe(a.buffer);
    expect(s.alloc(200).buffer).toBe(c.buffer);
    const big = s.alloc(1001);
    expect(big.byteLength).toBe(1001);
    expect(s.alloc(10).buffer).toBe(c.buffer);
  });
});

import { describe, expect, test } from 'vitest';
import { eq } from '../../src/scan/expressions.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import { appendWith, newTable, rows } from '../transaction/tables.ts';

describe('scanRows reads data files by ranges', () => {
  test('select returns only the chosen columns; filter columns are read but not returned', async () => {
    const { io, table: empty } = await newTable();
    const { table } = await appendWith((t) => fastAppend(t), empty, [
      ...rows(0, 5, 'a'),
      ...rows(5, 5, 'b'),
    ]);
    const wholeReads: string[] = [];
    const ranged: string[] = [];
    const read = io.read.bind(io);

    io.read = async (p) => {
      wholeReads.push(p);
      return read(p);
    };
    io.readRange = async (p, o, l) => {
      // MemoryFileIO's own readRange goes through read(): serve it here instead.
      ranged.push(p);
      const data = io.files.get(p);
      if (!data) throw new Error(`missing ${p}`);
      return data.slice(o, o + l);
    };
    expect(await scanRows(table, { select: ['cat'] })).toEqual([
      ...Array(5).fill({ cat: 'a' }),
      ...Array(5).fill({ cat: 'b' }),
    ]);
    expect(await scanRows(table, { select: ['cat'], filter: eq('id', 7n) })).toEqual([
      { cat: 'b' },
    ]);
    expect(await scanRows(table, { select: ['id', 'cat'], filter: eq('id', 7n) })).toEqual([
      { id: 7n, cat: 'b' },
    ]);
    expect(wholeReads.filter((p) => p.endsWith('.parquet'))).toEqual([]);
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged.every((p) => p.endsWith('.parquet'))).toBe(true);
  });

  test('an unknown column in select is refused by name', async () => {
    const { table } = await newTable();
    await expect(scanRows(table, { select: ['nope'] })).rejects.toThrow(
      'select: no column named "nope"',
    );
  });
});

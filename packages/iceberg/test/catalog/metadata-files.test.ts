import { describe, expect, it } from 'vitest';
import type { Table } from '../../src/catalog/catalog.ts';
import { FilesystemCatalog } from '../../src/catalog/filesystem.ts';
import {
  deleteRemovedMetadataFiles,
  previousVersionsMax,
  removedMetadataFiles,
} from '../../src/catalog/metadata-files.ts';
import { openTable } from '../../src/catalog/static.ts';
import { applyUpdates } from '../../src/catalog/updates.ts';
import { MemoryFileIO } from '../../src/io/memory.ts';
import { scanRows } from '../../src/scan/table-scan.ts';
import { newTableMetadata } from '../../src/spec/table-metadata.ts';
import { fastAppend } from '../../src/transaction/fast-append.ts';
import { mergeAppend } from '../../src/transaction/merge-append.ts';
import { appendWith, newTable, rows, schema } from '../transaction/tables.ts';

const DIR = 'memory://wh/db/t/metadata';
const v = (n: number) => `${DIR}/v${n}.metadata.json`;
const CLEANUP = {
  'write.metadata.delete-after-commit.enabled': 'true',
  'write.metadata.previous-versions-max': '5',
};

async function metadataFiles(io: MemoryFileIO): Promise<string[]> {
  return (await io.list(`${DIR}/`)).filter((p) => p.endsWith('.metadata.json'));
}

const byVersion = (a: string, b: string) =>
  Number(/v(\d+)\./.exec(a)?.[1]) - Number(/v(\d+)\./.exec(b)?.[1]);

async function appendTimes(table: Table, n: number): Promise<Table> {
  let t = table;
  for (let i = 0; i < n; i++) t = (await appendWith(fastAppend, t, rows(i * 2, 2))).table;
  return t;
}

describe('write.metadata.delete-after-commit.enabled (filesystem catalog)', () => {
  it('keeps only the current file and previous-versions-max previous ones', async () => {
    const { io, catalog, table } = await newTable(CLEANUP);
    const t = await appendTimes(table, 20);
    expect(t.metadataLocation).toBe(v(21));
    expect((await metadataFiles(io)).sort(byVersion)).toEqual(
      [16, 17, 18, 19, 20, 21].map((n) => v(n)),
    );
    // The metadata log lists exactly the previous files that exist, oldest first.
    expect(t.metadata.metadataLog.map((e) => e.metadataFile)).toEqual(
      [16, 17, 18, 19, 20].map((n) => v(n)),
    );
    for (const e of t.metadata.metadataLog) expect(await io.exists(e.metadataFile)).toBe(true);
    // The table still loads (hint → v21) and reads every row.
    const loaded = await catalog.loadTable(t.identifier);
    expect(loaded.metadataLocation).toBe(v(21));
    expect(loaded.metadata).toEqual(t.metadata);
    const ids = (await scanRows(loaded)).map((r) => r.id as bigint).sort((a, b) => Number(a - b));
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));
    // And it keeps committing: one more commit deletes exactly one more file.
    const next = await appendTimes(loaded, 1);
    expect((await metadataFiles(io)).sort(byVersion)).toEqual(
      [17, 18, 19, 20, 21, 22].map((n) => v(n)),
    );
    expect(next.metadata.metadataLog.map((e) => e.metadataFile)[0]).toBe(v(17));
  });

  it('deletes nothing when the property is false or absent (Java default)', async () => {
    for (const flag of ['false', undefined]) {
      const props: Record<string, string> = { 'write.metadata.previous-versions-max': '5' };
      if (flag !== undefined) props['write.metadata.delete-after-commit.enabled'] = flag;
      const { io, table } = await newTable(props);
      const t = await appendTimes(table, 20);
      expect((await metadataFiles(io)).sort(byVersion)).toEqual(
        Array.from({ length: 21 }, (_, i) => v(i + 1)),
      );
      // The log is capped all the same.
      expect(t.metadata.metadataLog.map((e) => e.metadataFile)).toEqual(
        [16, 17, 18, 19, 20].map((n) => v(n)),
      );
    }
  });

  it('deletes with the properties of the NEW metadata, all files dropped from the log at once', async () => {
    const { io, catalog, table } = await newTable({ 'write.metadata.previous-versions-max': '50' });
    const t = await appendTimes(table, 9); // v1..v10, nothing deleted
    expect(await metadataFiles(io)).toHaveLength(10);
    const after = await catalog.commitTable(
      t.identifier,
      [],
      [{ action: 'set-properties', updates: CLEANUP }],
    );
    // v11's log: v6..v10 (5); v1..v5 were in v10's log and are gone.
    expect(after.metadata.metadataLog.map((e) => e.metadataFile)).toEqual(
      [6, 7, 8, 9, 10].map((n) => v(n)),
    );
    expect((await metadataFiles(io)).sort(byVersion)).toEqual(
      [6, 7, 8, 9, 10, 11].map((n) => v(n)),
    );
    // Turning it off again stops the deletion.
    await catalog.commitTable(
      t.identifier,
      [],
      [{ action: 'remove-properties', removals: ['write.metadata.delete-after-commit.enabled'] }],
    );
    expect(await metadataFiles(io)).toHaveLength(7);
  });

  it('previous-versions-max below 1 keeps one previous file, as Java', async () => {
    expect(previousVersionsMax({ 'write.metadata.previous-versions-max': '0' })).toBe(1);
    expect(previousVersionsMax({ 'write.metadata.previous-versions-max': '-3' })).toBe(1);
    expect(previousVersionsMax({ 'write.metadata.previous-versions-max': 'x' })).toBe(100);
    expect(previousVersionsMax({})).toBe(100);
    const { io, table } = await newTable({
      'write.metadata.delete-after-commit.enabled': 'TRUE',
      'write.metadata.previous-versions-max': '0',
    });
    const t = await appendTimes(table, 4);
    expect(t.metadata.metadataLog.map((e) => e.metadataFile)).toEqual([v(4)]);
    expect((await metadataFiles(io)).sort(byVersion)).toEqual([v(4), v(5)]);
  });

  it('a failed delete does not fail the commit', async () => {
    const { io, catalog, table } = await newTable(CLEANUP);
    const t = await appendTimes(table, 5); // v1..v6, nothing to delete yet
    const realDelete = io.delete.bind(io);
    let attempts = 0;
    io.delete = async (path: string) => {
      if (path.endsWith('.metadata.json')) {
        attempts++;
        throw new Error('EACCES');
      }
      return realDelete(path);
    };
    const after = await appendTimes(t, 2);
    expect(attempts).toBe(2);
    expect(after.metadataLocation).toBe(v(8));
    expect((await catalog.loadTable(after.identifier)).metadataLocation).toBe(v(8));
    expect(await metadataFiles(io)).toHaveLength(8);
    io.delete = realDelete;
    // The next commit deletes only what IT dropped from the log (v3); v1, v2 stay orphaned,
    // as in Java.
    await appendTimes(after, 1);
    expect((await metadataFiles(io)).sort(byVersion)).toEqual(
      [1, 2, 4, 5, 6, 7, 8, 9].map((n) => v(n)),
    );
  });

  it('a hint pointing at a deleted version falls back to listing the folder', async () => {
    const { io, catalog, table } = await newTable(CLEANUP);
    const t = await appendTimes(table, 12); // v8..v13 remain
    await io.write(`${DIR}/version-hint.text`, new TextEncoder().encode('3'));
    const loaded = await catalog.loadTable(t.identifier);
    expect(loaded.metadataLocation).toBe(v(13));
    // A commit through the stale hint lands on v14, not on a deleted version number.
    const next = await appendTimes(loaded, 1);
    expect(next.metadataLocation).toBe(v(14));
    expect(new TextDecoder().decode(await io.read(`${DIR}/version-hint.text`))).toBe('14');
    expect((await scanRows(next)).length).toBe(26);
  });

  it('concurrent writers through separate catalogs all land, with old files cleaned up', async () => {
    const { io, table } = await newTable({
      ...CLEANUP,
      'commit.retry.num-retries': '100',
      'commit.retry.min-wait-ms': '0',
      'commit.retry.max-wait-ms': '2',
    });
    const WRITERS = 4;
    const EACH = 8;
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        const cat = new FilesystemCatalog({ warehouse: 'memory://wh', io });
        let t = await cat.loadTable(table.identifier);
        for (let i = 0; i < EACH; i++) {
          t = (await appendWith(mergeAppend, t, rows(w * 1000 + i, 1))).table;
        }
      }),
    );
    const cat = new FilesystemCatalog({ warehouse: 'memory://wh', io });
    const final = await cat.loadTable(table.identifier);
    const last = WRITERS * EACH + 1;
    expect(final.metadataLocation).toBe(v(last));
    expect(final.metadata.snapshots).toHaveLength(WRITERS * EACH);
    expect(await scanRows(final)).toHaveLength(WRITERS * EACH);
    // Commit v(k) deleted v(k-6), whichever writer made it: once all are done, exactly the
    // final log and the current file are left.
    for (const e of final.metadata.metadataLog) expect(await io.exists(e.metadataFile)).toBe(true);
    const onDisk = (await metadataFiles(io)).sort(byVersion);
    expect(onDisk.slice(-6)).toEqual(Array.from({ length: 6 }, (_, i) => v(last - 5 + i)));
    expect(onDisk).toHaveLength(6);
  });
});

describe('write.metadata.delete-after-commit.enabled (metadata-file tables)', () => {
  it('openTable commits delete what fell out of the log', async () => {
    const { io, table } = await newTable(CLEANUP);
    const t = await appendTimes(table, 2); // v1..v3
    let opened = await openTable(io, t.metadataLocation);
    opened = await appendTimes(opened, 8);
    const log = opened.metadata.metadataLog.map((e) => e.metadataFile);
    expect(log).toHaveLength(5);
    const files = await metadataFiles(io);
    expect(new Set(files)).toEqual(new Set([...log, opened.metadataLocation]));
    expect((await scanRows(opened)).length).toBe(20);
  });
});

describe('removedMetadataFiles', () => {
  it('is the base log plus the base file, minus the new log and the new file', () => {
    const base0 = newTableMetadata({ location: 'memory://wh/db/t', schema, properties: CLEANUP });
    let base = base0;
    for (let n = 1; n <= 6; n++) base = applyUpdates(base, [], { baseLocation: v(n) });
    expect(base.metadataLog.map((e) => e.metadataFile)).toEqual([2, 3, 4, 5, 6].map(v));
    const next = applyUpdates(base, [], { baseLocation: v(7) });
    expect(removedMetadataFiles(base, v(7), next, v(8))).toEqual([v(2)]);
    const off = { ...next, properties: {} };
    expect(removedMetadataFiles(base, v(7), off, v(8))).toEqual([]);
    // never the new current file, even if a log (wrongly) drops it
    expect(removedMetadataFiles(base, v(7), { ...next, metadataLog: [] }, v(7))).toEqual(
      [2, 3, 4, 5, 6].map(v),
    );
  });

  it('deleteRemovedMetadataFiles never throws', async () => {
    const base = applyUpdates(
      newTableMetadata({ location: 'memory://wh/db/t', schema, properties: CLEANUP }),
      [],
      { baseLocation: v(1) },
    );
    const next = { ...base, metadataLog: [] };
    const io = new MemoryFileIO();
    io.delete = async () => {
      throw new Error('boom');
    };
    await expect(deleteRemovedMetadataFiles(io, base, v(2), next, v(3))).resolves.toEqual({
      deleted: [],
      failed: [v(1), v(2)],
    });
  });
});

/**
 * `kice tables -c kice.yaml [--json]`: every table in the warehouse with its snapshot
 * count, rows, data files, bytes, the Kafka offsets it records for the group and its
 * completeness watermark (docs/operations.md, "Completeness watermark").
 */
import {
  type CatalogConfig,
  createCatalog,
  createFileIO,
  LocalFileIO,
  loadConfigFile,
  readOffsets,
  readWatermark,
} from '@kice/core';
import { currentSnapshot, type FileIO, identifierToString } from '@kice/iceberg';

export interface TableInfo {
  readonly table: string;
  readonly snapshots: number;
  readonly rows: number;
  readonly files: number;
  readonly bytes: number;
  readonly offsets: Record<string, string>;
  /** Epoch ms through which every partition the table holds is complete (absent: unknown). */
  readonly watermarkMs?: number;
  /** The same as an ISO-8601 UTC time. */
  readonly watermark?: string;
  /** The group's per-partition watermarks, "topic:partition" → epoch ms. */
  readonly partitionWatermarksMs: Record<string, number>;
}

export async function listTables(
  catalogConfig: CatalogConfig,
  groupId: string,
  io: FileIO = new LocalFileIO(),
): Promise<TableInfo[]> {
  const catalog = createCatalog(catalogConfig, io);
  const out: TableInfo[] = [];
  for (const ns of await catalog.listNamespaces()) {
    for (const id of await catalog.listTables(ns)) {
      const t = await catalog.loadTable(id);
      const snap = currentSnapshot(t.metadata);
      const s = snap?.summary ?? {};
      const w = readWatermark(t.metadata);
      out.push({
        table: identifierToString(id),
        snapshots: t.metadata.snapshots.length,
        rows: Number(s['total-records'] ?? 0),
        files: Number(s['total-data-files'] ?? 0),
        bytes: Number(s['total-files-size'] ?? 0),
        offsets: Object.fromEntries(
          [...readOffsets(s, groupId)].map(([k, v]) => [k, v.toString()]),
        ),
        ...(w.watermarkMs !== undefined
          ? { watermarkMs: w.watermarkMs, watermark: new Date(w.watermarkMs).toISOString() }
          : {}),
        partitionWatermarksMs: { ...w.groups[groupId] },
      });
    }
  }
  return out;
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatTables(rows: readonly TableInfo[]): string {
  if (rows.length === 0) return 'no tables yet\n';
  const head = [
    'table',
    'snapshots',
    'rows',
    'files',
    'bytes',
    'complete through',
    'offsets (next, per partition)',
  ];
  const body = rows.map((r) => [
    r.table,
    String(r.snapshots),
    String(r.rows),
    String(r.files),
    human(r.bytes),
    r.watermark ?? '-',
    Object.entries(r.offsets)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((b) => (b[i] as string).length)),
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ');
  return `${[line(head), ...body.map(line)].join('\n')}\n`;
}

export async function tablesCommand(
  configPath: string,
  options: { json: boolean },
): Promise<number> {
  const config = await loadConfigFile(configPath);
  const rows = await listTables(config.catalog, config.kafka.groupId, createFileIO(config.storage));
  process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatTables(rows));
  return 0;
}

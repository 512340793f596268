/**
 * One query value, exactly, for the text formats (./encode.ts): from Arrow data through
 * @kice/iceberg's in-memory conventions (arrowDataValue: long → bigint, timestamps → bigint
 * µs, decimal → unscaled bigint) to JSON text or a plain cell.
 *
 *   long → JSON number text (all 64 bits, no rounding); decimal → "12.50" (a string, its
 *   scale kept); date → "2024-01-31"; time → "13:45:00.000001"; timestamp →
 *   "2024-01-31T13:45:00.000001" and timestamptz → "…Z" (microseconds, always six digits;
 *   years outside 0000–9999 as ±YYYYYY, beyond the Date range the µs digits);
 *   binary/fixed → base64; uuid → its string; NaN/±Infinity → "NaN", "Infinity",
 *   "-Infinity" (JSON has no such numbers); struct → object; list → array; map → object
 *   when its keys are strings, else an array of {"key", "value"}.
 *
 * Types: https://iceberg.apache.org/spec/#primitive-types.
 */
import {
  arrowDataValue,
  decimalParams,
  type IcebergType,
  icebergTypeOfArrowField,
} from '@kice/iceberg';
import type * as arrow from 'apache-arrow';

const pad = (n: number | bigint, w: number): string => String(n).padStart(w, '0');

function decimalText(unscaled: bigint, scale: number): string {
  if (scale <= 0) return (unscaled * 10n ** BigInt(-scale)).toString();
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

const MAX_MS = 8.64e15; // the Date range

/** ISO 8601 date of a UTC epoch ms: years beyond 0000–9999 signed with six digits. */
function isoDate(d: Date): string {
  const y = d.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : `${y < 0 ? '-' : '+'}${pad(Math.abs(y), 6)}`;
  return `${year}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

function dateText(days: number): string {
  const ms = days * 86_400_000;
  return Math.abs(ms) > MAX_MS ? String(days) : isoDate(new Date(ms));
}

function timestampText(us: bigint, zone: boolean): string {
  let ms = us / 1000n;
  let frac = us % 1000n;
  if (frac < 0n) {
    frac += 1000n;
    ms -= 1n;
  }
  if (ms > BigInt(MAX_MS) || ms < -BigInt(MAX_MS)) return us.toString(); // past Date: µs
  const d = new Date(Number(ms));
  const time = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return `${isoDate(d)}T${time}.${pad(d.getUTCMilliseconds(), 3)}${pad(frac, 3)}${zone ? 'Z' : ''}`;
}

function timeText(us: bigint): string {
  const s = us / 1_000_000n;
  return `${pad(s / 3600n, 2)}:${pad((s / 60n) % 60n, 2)}:${pad(s % 60n, 2)}.${pad(us % 1_000_000n, 6)}`;
}

/** A primitive as a plain string (CSV cell, text table), or a JSON text for nested. */
function scalar(t: IcebergType, v: unknown): string | number | boolean | bigint {
  if (typeof t !== 'string') return '';
  switch (t) {
    case 'boolean':
    case 'int':
    case 'long':
      return v as boolean | number | bigint;
    case 'float':
    case 'double':
      return Number.isFinite(v) ? (v as number) : String(v);
    case 'date':
      return dateText(v as number);
    case 'time':
      return timeText(v as bigint);
    case 'timestamp':
    case 'timestamptz':
      return timestampText(v as bigint, t === 'timestamptz');
    case 'string':
    case 'uuid':
      return v as string;
    case 'binary':
      return Buffer.from(v as Uint8Array).toString('base64');
  }
  const d = decimalParams(t);
  if (d) return decimalText(v as bigint, d.scale);
  return Buffer.from(v as Uint8Array).toString('base64'); // fixed[n]
}

/** `v` (in-memory conventions, of type `t`) as JSON text. */
export function jsonValue(t: IcebergType, v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof t !== 'string') {
    switch (t.type) {
      case 'struct': {
        const o = v as Record<string, unknown>;
        return `{${t.fields.map((f) => `${JSON.stringify(f.name)}:${jsonValue(f.type, o[f.name])}`).join(',')}}`;
      }
      case 'list':
        return `[${(v as unknown[]).map((x) => jsonValue(t.element, x)).join(',')}]`;
      case 'map': {
        const m = v as Map<unknown, unknown>;
        if (t.key === 'string')
          return `{${[...m].map(([k, x]) => `${JSON.stringify(k)}:${jsonValue(t.value, x)}`).join(',')}}`;
        return `[${[...m].map(([k, x]) => `{"key":${jsonValue(t.key, k)},"value":${jsonValue(t.value, x)}}`).join(',')}]`;
      }
    }
  }
  const s = scalar(t, v);
  return typeof s === 'string' ? JSON.stringify(s) : String(s);
}

/** `v` as one plain cell: primitives as text, nested values as their JSON, null as ''. */
export function cellValue(t: IcebergType, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof t !== 'string') return jsonValue(t, v);
  return String(scalar(t, v));
}

/** The columns of a schema: name, Iceberg type. */
export interface Column {
  readonly name: string;
  readonly type: IcebergType;
}

export function columnsOf(schema: arrow.Schema): Column[] {
  return schema.fields.map((f) => ({ name: f.name, type: icebergTypeOfArrowField(f) }));
}

/** Row `i` of `batch`, each column rendered by `render`. */
export function rowCells<T>(
  columns: readonly Column[],
  batch: arrow.RecordBatch,
  i: number,
  render: (t: IcebergType, v: unknown) => T,
): T[] {
  const children = batch.data.children;
  return columns.map((c, k) =>
    render(c.type, arrowDataValue(c.type, children[k] as arrow.Data, i)),
  );
}

/**
 * A row as engine.get returns it (in-memory conventions, no types at hand) as JSON text:
 * bigint as its digits (long, and timestamps as µs), Uint8Array as base64, Map as an
 * object (string keys) or an array of {"key", "value"}.
 */
export function jsonRow(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString('base64'));
  if (Array.isArray(v)) return `[${v.map(jsonRow).join(',')}]`;
  if (v instanceof Map) {
    const entries = [...v];
    if (entries.every(([k]) => typeof k === 'string'))
      return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${jsonRow(x)}`).join(',')}}`;
    return `[${entries.map(([k, x]) => `{"key":${jsonRow(k)},"value":${jsonRow(x)}}`).join(',')}]`;
  }
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .map((k) => `${JSON.stringify(k)}:${jsonRow(o[k])}`)
    .join(',')}}`;
}

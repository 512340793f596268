/**
 * Query results as bytes, streamed batch by batch from an async iterable of Arrow
 * RecordBatches: no format holds more than one batch's text at a time but `table`, the
 * CLI's aligned text table, which needs every row to size its columns (the CLI bounds it
 * by --limit).
 *
 *   arrow   Arrow IPC streaming format (https://arrow.apache.org/docs/format/Columnar.html#ipc-streaming-format)
 *   json    one JSON array of row objects, written incrementally
 *   ndjson  one JSON object per line (https://github.com/ndjson/ndjson-spec)
 *   csv     RFC 4180, a header row, CRLF line ends; nested values as their JSON
 *   table   aligned columns for a terminal, then "(N rows)"
 *
 * Values are rendered exactly (./render.ts). `pipeResult` writes one to a node Writable
 * (an HTTP response, stdout) with stream.pipeline: a write that returns false waits for
 * 'drain', and a destination that closes early (a client gone) destroys the source, which
 * calls `return()` on the batch iterator so the scan under it stops reading.
 */
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as arrow from 'apache-arrow';
import { cellValue, columnsOf, jsonValue, rowCells } from './render.ts';

export const FORMATS = ['arrow', 'json', 'ndjson', 'csv', 'table'] as const;
export type Format = (typeof FORMATS)[number];

export const CONTENT_TYPES: Readonly<Record<Format, string>> = {
  arrow: 'application/vnd.apache.arrow.stream',
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
  table: 'text/plain; charset=utf-8',
};

function objectLine(schema: arrow.Schema): (b: arrow.RecordBatch, i: number) => string {
  const columns = columnsOf(schema);
  const keys = columns.map((c) => `${JSON.stringify(c.name)}:`);
  return (b, i) => {
    const cells = rowCells(columns, b, i, jsonValue);
    return `{${cells.map((c, k) => `${keys[k]}${c}`).join(',')}}`;
  };
}

async function* json(schema: arrow.Schema, batches: AsyncIterable<arrow.RecordBatch>) {
  const line = objectLine(schema);
  let first = true;
  yield '[';
  for await (const b of batches) {
    const parts: string[] = [];
    for (let i = 0; i < b.numRows; i++) {
      parts.push(`${first ? '\n' : ',\n'}${line(b, i)}`);
      first = false;
    }
    if (parts.length) yield parts.join('');
  }
  yield first ? ']\n' : '\n]\n';
}

async function* ndjson(schema: arrow.Schema, batches: AsyncIterable<arrow.RecordBatch>) {
  const line = objectLine(schema);
  for await (const b of batches) {
    const parts: string[] = [];
    for (let i = 0; i < b.numRows; i++) parts.push(`${line(b, i)}\n`);
    if (parts.length) yield parts.join('');
  }
}

const csvCell = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

async function* csv(schema: arrow.Schema, batches: AsyncIterable<arrow.RecordBatch>) {
  const columns = columnsOf(schema);
  yield `${columns.map((c) => csvCell(c.name)).join(',')}\r\n`;
  for await (const b of batches) {
    const parts: string[] = [];
    for (let i = 0; i < b.numRows; i++)
      parts.push(`${rowCells(columns, b, i, cellValue).map(csvCell).join(',')}\r\n`);
    if (parts.length) yield parts.join('');
  }
}

/** Control characters shown escaped, so a value cannot move the terminal's cursor. */
const visible = (s: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is what it replaces
  s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));

async function* table(schema: arrow.Schema, batches: AsyncIterable<arrow.RecordBatch>) {
  const columns = columnsOf(schema);
  const rows: string[][] = [];
  for await (const b of batches)
    for (let i = 0; i < b.numRows; i++)
      rows.push(
        rowCells(columns, b, i, (t, v) => (v === null ? 'null' : visible(cellValue(t, v)))),
      );
  const head = columns.map((c) => visible(c.name));
  const widths = head.map((h, k) =>
    Math.max(h.length, ...rows.map((r) => (r[k] as string).length)),
  );
  const fmt = (cells: string[]) =>
    `${cells
      .map((c, k) => c.padEnd(widths[k] as number))
      .join(' | ')
      .trimEnd()}\n`;
  yield fmt(head);
  yield `${widths.map((w) => '-'.repeat(w)).join('-+-')}\n`;
  for (const r of rows) yield fmt(r);
  yield `(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}

/** The bytes of a result in `format`, chunk by chunk. */
export function encode(
  format: Exclude<Format, 'arrow'>,
  schema: arrow.Schema,
  batches: AsyncIterable<arrow.RecordBatch>,
): AsyncGenerator<string> {
  switch (format) {
    case 'json':
      return json(schema, batches);
    case 'ndjson':
      return ndjson(schema, batches);
    case 'csv':
      return csv(schema, batches);
    case 'table':
      return table(schema, batches);
  }
}

/** Batches that always start with the schema, so an empty result is a valid stream. */
async function* withSchema(schema: arrow.Schema, batches: AsyncIterable<arrow.RecordBatch>) {
  let any = false;
  for await (const b of batches) {
    any = true;
    yield b;
  }
  if (any) return;
  const children = schema.fields.map((f) => arrow.makeBuilder({ type: f.type }).finish().flush());
  yield new arrow.RecordBatch(
    schema,
    arrow.makeData({ type: new arrow.Struct(schema.fields), length: 0, nullCount: 0, children }),
  );
}

/**
 * Writes a result to `out` in `format` with backpressure; resolves once it is written,
 * rejects when the source fails or `out` closed first (the iteration stopped then).
 */
export async function pipeResult(
  format: Format,
  schema: arrow.Schema,
  batches: AsyncIterable<arrow.RecordBatch>,
  out: Writable,
  options: { end?: boolean } = {},
): Promise<void> {
  if (format === 'arrow') {
    await pipeline(
      Readable.from(withSchema(schema, batches), { objectMode: true, highWaterMark: 1 }),
      arrow.RecordBatchStreamWriter.throughNode(),
      out,
      { end: options.end ?? true },
    );
    return;
  }
  await pipeline(
    Readable.from(encode(format, schema, batches), { objectMode: false, highWaterMark: 1 }),
    out,
    {
      end: options.end ?? true,
    },
  );
}

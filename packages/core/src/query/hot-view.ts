/**
 * The hot part of a query: the rows this process decoded and holds (buffered, or drained
 * by a flush whose commit is not visible yet: pipeline/table-buffer.ts `view()`) that a
 * snapshot S does not hold yet.
 *
 * The seam (docs/embedding.md, "Querying"): per owned partition, a hot row is one whose
 * Kafka offset is at or past S's recorded offset for that partition
 * (`kice.offsets.<group>`, read through S's ancestry as commit/offsets.ts does). The
 * caller captures the batches BEFORE it reads S: every batch dropped from the view was
 * covered by a commit already visible, so S, read later, covers it too, and a batch
 * committed after the capture is both in the capture and under S's offset (skipped here).
 * A partition whose captured rows start past S's offset would be a hole: that is an
 * internal error, never a silent gap.
 *
 * Rows are read from the batches' Arrow IPC (in SharedArrayBuffers, read in place), their
 * columns matched to the table schema BY NAME (the decoders' field IDs of columns not
 * committed yet are provisional), filtered with @kice/iceberg's vector filter and
 * converted to the read schema like the cold path's batches. Columns the table does not
 * have yet (seen only in hot rows) are not returned.
 */
import {
  arrowSchemaFor,
  type Bound,
  evalBatch,
  FIELD_ID_KEY,
  type IcebergType,
  maskIndices,
  type Schema,
  takeData,
  toReadBatch,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { type OffsetMap, tpKey } from '../commit/offsets.ts';
import { KiceError } from '../errors.ts';
import type { BufferedBatch } from '../pipeline/table-buffer.ts';

/** A partition the hot part covers: its rows at or past `fromOffset` come from memory. */
export interface HotPartition {
  readonly topic: string;
  readonly partition: number;
  readonly fromOffset: bigint;
}

/** One captured batch's rows from `firstRow` on. */
export interface HotSlice {
  readonly batch: BufferedBatch;
  readonly firstRow: number;
}

/**
 * Which captured rows are past S: per owned partition, the batches (or the tail of the
 * batch S's offset falls in) at or past S's recorded offset. Batches of partitions not
 * owned any more are left out.
 */
export function selectHot(
  captured: readonly BufferedBatch[],
  owned: readonly { topic: string; partition: number; start: bigint }[],
  recorded: OffsetMap,
): { partitions: HotPartition[]; slices: HotSlice[] } {
  const ownedKeys = new Map(owned.map((o) => [tpKey(o.topic, o.partition), o]));
  const first = new Map<string, bigint>();
  const slices: HotSlice[] = [];
  for (const b of captured) {
    const key = tpKey(b.topic, b.partition);
    if (!ownedKeys.has(key)) continue;
    const at = recorded.get(key);
    if (at !== undefined && b.to <= at) continue; // S holds it
    if (!first.has(key)) {
      if (at !== undefined && b.from > at)
        throw new KiceError(
          'INTERNAL',
          `query: ${key} hot rows start at ${b.from}, past the snapshot's offset ${at}`,
        );
      first.set(key, b.from);
    }
    if (!b.ipc || b.rows === 0) continue;
    if (at === undefined || b.from >= at) {
      slices.push({ batch: b, firstRow: 0 });
      continue;
    }
    // S's offset falls inside the batch (another writer's commit boundary).
    if (!b.rowOffsets)
      throw new KiceError(
        'INTERNAL',
        `query: ${key} snapshot offset ${at} falls inside batch [${b.from}, ${b.to}) without row offsets`,
      );
    let i = 0;
    while (i < b.rows && (b.rowOffsets[i] as bigint) < at) i++;
    if (i < b.rows) slices.push({ batch: b, firstRow: i });
  }
  const partitions = [...ownedKeys.entries()]
    .map(([key, o]) => ({
      topic: o.topic,
      partition: o.partition,
      fromOffset: recorded.get(key) ?? first.get(key) ?? o.start,
    }))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { partitions, slices };
}

/**
 * The slices' rows that match `filter` (bound to `tableSchema`), in `readSchema`, batch by
 * batch; `limit` stops early.
 */
export function* hotBatches(
  slices: readonly HotSlice[],
  tableSchema: Schema,
  readSchema: Schema,
  filter: Bound | undefined,
  limit = Number.POSITIVE_INFINITY,
): Generator<arrow.RecordBatch> {
  const arrowSchema = arrowSchemaFor(readSchema);
  let left = limit;
  for (const s of slices) {
    if (left <= 0) return;
    let row = 0;
    for (const rb of arrow.tableFromIPC(s.batch.ipc as Uint8Array).batches) {
      const start = row;
      row += rb.numRows;
      if (row <= s.firstRow) continue;
      const fields = rb.schema.fields.map((f) => byName(f, tableFieldsOf(tableSchema, f.name)));
      const children = rb.data.children;
      const batch = { length: rb.numRows, fields, children };
      const mask = filter ? evalBatch(filter, batch) : new Uint8Array(rb.numRows).fill(1);
      for (let i = 0; i < s.firstRow - start; i++) mask[i] = 0;
      let idx = maskIndices(mask);
      if (idx.length === 0) continue;
      if (idx.length > left) idx = idx.subarray(0, left);
      left -= idx.length;
      const taken = children.map((d) => takeData(d, idx));
      yield toReadBatch({ length: idx.length, fields, children: taken }, readSchema, arrowSchema);
      if (left <= 0) return;
    }
  }
}

function tableFieldsOf(
  schema: Schema,
  name: string,
): { id: number; type: IcebergType } | undefined {
  return schema.fields.find((f) => f.name === name);
}

/** The Arrow field with the field IDs of the table's field of the same name (at every
 * level); a field the table does not have loses its ID (so it is never read). */
export function byName(
  f: arrow.Field,
  target: { id: number; type: IcebergType } | undefined,
): arrow.Field {
  const metadata = new Map(f.metadata);
  if (target) metadata.set(FIELD_ID_KEY, String(target.id));
  else metadata.delete(FIELD_ID_KEY);
  const t = target?.type;
  let type: arrow.DataType = f.type;
  if (arrow.DataType.isStruct(f.type)) {
    const fields = typeof t === 'object' && t.type === 'struct' ? t.fields : [];
    type = new arrow.Struct(
      f.type.children.map((c) =>
        byName(
          c,
          fields.find((x) => x.name === c.name),
        ),
      ),
    );
  } else if (arrow.DataType.isList(f.type)) {
    const el = typeof t === 'object' && t.type === 'list' ? t : undefined;
    const child = f.type.children[0] as arrow.Field;
    type = new arrow.List(byName(child, el && { id: el.elementId, type: el.element }));
  } else if (arrow.DataType.isMap(f.type)) {
    const m = typeof t === 'object' && t.type === 'map' ? t : undefined;
    const entries = f.type.children[0] as arrow.Field<arrow.Struct>;
    const [k, v] = entries.type.children as [arrow.Field, arrow.Field];
    const kv = new arrow.Struct([
      byName(k, m && { id: m.keyId, type: m.key }),
      byName(v, m && { id: m.valueId, type: m.value }),
    ]);
    type = new arrow.Map_(new arrow.Field(entries.name, kv, entries.nullable), f.type.keysSorted);
  }
  return new arrow.Field(f.name, type, f.nullable, metadata);
}

/**
 * The decoder's column tree: one node per Iceberg field (struct children, list elements,
 * map keys/values), each with its growable column. Building nodes from a struct type,
 * null back-filling, truncation (rollback of a rejected record) and conversion back to an
 * Iceberg type and to Arrow `Data` live here; appending JSON values is in append.ts.
 *
 * Types: https://iceberg.apache.org/spec/#schemas-and-data-types
 */
import {
  arrowFieldFor as arrowField,
  arrowTypeFor as arrowType,
  decimalParams,
  fixedLength,
  type IcebergType,
  type NestedField,
  type PrimitiveType,
  type StructType,
  sharedBytes,
  tableToIpcInto,
} from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import {
  BoolColumn,
  BytesColumn,
  FixedColumn,
  Int64Column,
  ListColumn,
  NumberColumn,
  StructColumn,
} from './columns.ts';
import { childPath, elementPath } from './infer.ts';

/** Value kinds the appender switches on. */
export const Kind = {
  Bool: 0,
  Int: 1,
  Long: 2,
  Float: 3,
  Double: 4,
  Date: 5,
  Time: 6,
  Timestamp: 7,
  TimestampTz: 8,
  String: 9,
  Uuid: 10,
  Fixed: 11,
  Binary: 12,
  Decimal: 13,
  Struct: 14,
  List: 15,
  Map: 16,
} as const;
/** One of Kind's values. */
export type Kind = (typeof Kind)[keyof typeof Kind];

// Local copies: a module-namespace read per value costs more than the switch itself.
const {
  Binary: KBinary,
  Bool: KBool,
  Date: KDate,
  Decimal: KDecimal,
  Double: KDouble,
  Fixed: KFixed,
  Float: KFloat,
  Int: KInt,
  List: KList,
  Long: KLong,
  Map: KMap,
  String: KString,
  Struct: KStruct,
  Time: KTime,
  Timestamp: KTimestamp,
  TimestampTz: KTimestampTz,
  Uuid: KUuid,
} = Kind;

interface Base {
  readonly name: string;
  readonly id: number;
  readonly required: boolean;
  /** Column path for errors and hints: "a.b", "tags[]". */
  readonly path: string;
  /** Stamp of the last object visit that set this field (finds absent fields). */
  seenAt: number;
}

export interface NumberNode extends Base {
  kind:
    | typeof Kind.Int
    | typeof Kind.Long
    | typeof Kind.Float
    | typeof Kind.Double
    | typeof Kind.Date;
  readonly col: NumberColumn;
}
export interface Int64Node extends Base {
  kind: typeof Kind.Time | typeof Kind.Timestamp | typeof Kind.TimestampTz;
  readonly col: Int64Column;
}
export interface BoolNode extends Base {
  kind: typeof Kind.Bool;
  readonly col: BoolColumn;
}
export interface BytesNode extends Base {
  kind: typeof Kind.String | typeof Kind.Binary;
  readonly col: BytesColumn;
}
export interface FixedNode extends Base {
  kind: typeof Kind.Uuid | typeof Kind.Fixed | typeof Kind.Decimal;
  readonly col: FixedColumn;
  /** The primitive type (decimal precision/scale, fixed length). */
  readonly type: PrimitiveType;
  readonly precision: number;
  readonly scale: number;
}
export interface StructNode extends Base {
  kind: typeof Kind.Struct;
  readonly col: StructColumn;
  readonly children: Node[];
  readonly byName: Map<string, Node>;
  /** Bumped whenever children are added or removed (invalidates `compiled`). */
  shape: number;
  /** The generated appender for this node's objects (see compiled.ts), and its shape. */
  compiled: ((o: Record<string, unknown>, cx: never) => string | undefined) | undefined;
  compiledShape: number;
  /** Declared schema (a registry JSON Schema): fields it lacks are skipped, not added. */
  closed?: boolean;
  /** A union: a value goes to the member named by its JSON type (registry/json-schema.ts). */
  union?: boolean;
}
export interface ListNode extends Base {
  kind: typeof Kind.List;
  readonly col: ListColumn;
  readonly element: Node;
}
export interface MapNode extends Base {
  kind: typeof Kind.Map;
  readonly col: ListColumn;
  readonly key: Node;
  readonly value: Node;
}

export type Node =
  | NumberNode
  | Int64Node
  | BoolNode
  | BytesNode
  | FixedNode
  | StructNode
  | ListNode
  | MapNode;

const SIMPLE: Record<string, Kind> = {
  boolean: KBool,
  int: KInt,
  long: KLong,
  float: KFloat,
  double: KDouble,
  date: KDate,
  time: KTime,
  timestamp: KTimestamp,
  timestamptz: KTimestampTz,
  string: KString,
  uuid: KUuid,
  binary: KBinary,
};

/** Every field a node of any kind may have. */
interface AnyNodeFields {
  kind: Kind;
  col: Node['col'];
  type?: PrimitiveType;
  precision?: number;
  scale?: number;
  children?: Node[];
  byName?: Map<string, Node>;
  element?: Node;
  key?: Node;
  value?: Node;
}

/**
 * A node with every field of every kind, always in this order (unused ones undefined), so
 * that all nodes share one hidden class: the scanner reads `kind`, `col`, `seenAt`,
 * `required`, `children` of nodes of mixed kinds at the same sites, and with one shape
 * those loads stay monomorphic instead of going through V8's megamorphic lookup.
 */
function shaped<T extends Node>(base: Base, f: AnyNodeFields): T {
  const node = {
    name: base.name,
    id: base.id,
    required: base.required,
    path: base.path,
    seenAt: 0,
    kind: f.kind,
    col: f.col,
    type: f.type,
    precision: f.precision ?? 0,
    scale: f.scale ?? 0,
    children: f.children,
    byName: f.byName,
    shape: 0,
    compiled: undefined,
    compiledShape: -1,
    closed: false,
    union: false,
    element: f.element,
    key: f.key,
    value: f.value,
  };
  return node as unknown as T;
}

/** Builds the (empty) node for a field and its nested fields. */
export function makeNode(f: NestedField, path: string): Node {
  const base = { name: f.name, id: f.id, required: f.required, path, seenAt: 0 };
  const t = f.type;
  if (typeof t === 'string') {
    const kind = SIMPLE[t];
    switch (kind) {
      case KBool:
        return shaped(base, { kind, col: new BoolColumn() });
      case KInt:
      case KLong:
      case KFloat:
      case KDouble:
      case KDate:
        return shaped(base, { kind, col: new NumberColumn() });
      case KTime:
      case KTimestamp:
      case KTimestampTz:
        return shaped(base, { kind, col: new Int64Column() });
      case KString:
      case KBinary:
        return shaped(base, { kind, col: new BytesColumn() });
      case KUuid:
        return shaped(base, { kind, col: new FixedColumn(16), type: t });
    }
    const d = decimalParams(t);
    if (d) return shaped(base, { kind: KDecimal, col: new FixedColumn(16), type: t, ...d });
    const len = fixedLength(t) ?? 1;
    return shaped(base, { kind: KFixed, col: new FixedColumn(len), type: t });
  }
  if (t.type === 'struct') return structNode(base, t);
  if (t.type === 'list') {
    const el = { id: t.elementId, name: 'element', required: t.elementRequired, type: t.element };
    return shaped(base, {
      kind: KList,
      col: new ListColumn(),
      element: makeNode(el, elementPath(path)),
    });
  }
  const key = makeNode({ id: t.keyId, name: 'key', required: true, type: t.key }, `${path}.key`);
  const value = makeNode(
    { id: t.valueId, name: 'value', required: t.valueRequired, type: t.value },
    `${path}.value`,
  );
  return shaped(base, { kind: KMap, col: new ListColumn(), key, value });
}

function structNode(base: Base, t: StructType): StructNode {
  const node = shaped<StructNode>(base, {
    kind: KStruct,
    col: new StructColumn(),
    children: [],
    byName: new Map(),
  });
  for (const f of t.fields) addChild(node, makeNode(f, childPath(base.path, f.name)));
  return node;
}

/** The root node of a record struct (path ""). */
export function rootNode(schema: StructType): StructNode {
  return structNode({ name: '', id: 0, required: true, path: '', seenAt: 0 }, schema);
}

/**
 * Makes room for `rows` more rows in a struct's column and in every column it holds once
 * per row (nested structs too; a list's or map's elements are not counted, so their
 * columns grow as they fill). String and binary columns get a first guess of their bytes:
 * 16 per row, but together no more than `inputBytes` (the batch's own size), so a wide,
 * sparse schema does not reserve what its nulls never fill.
 */
export function reserveRows(root: StructNode, rows: number, inputBytes: number): void {
  const once: Node[] = [];
  const walk = (n: StructNode): void => {
    for (const c of n.children) {
      once.push(c);
      if (c.kind === KStruct) walk(c);
    }
  };
  walk(root);
  let byteColumns = 0;
  for (const c of once) if (c.col instanceof BytesColumn) byteColumns++;
  const bytesEach = Math.min(16 * rows, Math.floor(inputBytes / Math.max(1, byteColumns)));
  root.col.reserve(rows);
  for (const c of once) {
    if (c.col instanceof BytesColumn) c.col.reserve(rows, bytesEach);
    else c.col.reserve(rows);
  }
}

export function addChild(parent: StructNode, child: Node): void {
  parent.children.push(child);
  parent.byName.set(child.name, child);
  parent.shape++;
}

/** Removes the most recently added child (undo of addChild). */
export function removeLastChild(parent: StructNode): void {
  const child = parent.children.pop();
  if (child) {
    parent.byName.delete(child.name);
    parent.shape++;
  }
}

/** Appends a null row (children of a null struct are null too). */
export function appendNull(n: Node): void {
  switch (n.kind) {
    case KStruct:
      n.col.append(false);
      for (const c of n.children) appendNull(c);
      return;
    case KList:
      n.col.append(false, n.element.col.length);
      return;
    case KMap:
      n.col.append(false, n.key.col.length);
      return;
    default:
      n.col.appendNull();
  }
}

/** Drops every row from `len` on (nested children follow their parent). */
export function truncate(n: Node, len: number): void {
  n.col.truncate(len);
  if (n.kind === KStruct) {
    for (const c of n.children) truncate(c, len);
  } else if (n.kind === KList) {
    truncate(n.element, n.col.childEnd(Math.min(len, n.col.length)));
  } else if (n.kind === KMap) {
    const end = n.col.childEnd(Math.min(len, n.col.length));
    truncate(n.key, end);
    truncate(n.value, end);
  }
}

const KIND_NAME = [
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'string',
  'uuid',
  'fixed',
  'binary',
  'decimal',
  'struct',
  'list',
  'map',
];

/** The node's type name as errors show it ("long", "decimal(9, 2)", "struct"). */
export function typeName(n: Node): string {
  // Every node has a `type` field (see shaped); only fixed-width kinds set it.
  const t = (n as { type?: PrimitiveType }).type;
  return t !== undefined ? t : (KIND_NAME[n.kind] as string);
}

/** The node's current Iceberg type (widenings included). */
export function typeOf(n: Node): IcebergType {
  switch (n.kind) {
    case KStruct:
      return { type: 'struct', fields: n.children.map(fieldOf) };
    case KList:
      return {
        type: 'list',
        elementId: n.element.id,
        element: typeOf(n.element),
        elementRequired: n.element.required,
      };
    case KMap:
      return {
        type: 'map',
        keyId: n.key.id,
        key: typeOf(n.key),
        valueId: n.value.id,
        value: typeOf(n.value),
        valueRequired: n.value.required,
      };
    default:
      return typeName(n) as PrimitiveType;
  }
}

/** The node as an Iceberg field. */
export function fieldOf(n: Node): NestedField {
  return { id: n.id, name: n.name, required: n.required, type: typeOf(n) };
}

/** The node's column as Arrow Data of `type` (= arrowType(typeOf(n))). */
export function dataOf(n: Node, type: arrow.DataType = arrowType(typeOf(n))): arrow.Data {
  const c = n.col;
  const base = { type, length: c.length, nullCount: c.nullCount(), nullBitmap: c.bitmap() };
  switch (n.kind) {
    case KBool:
      return arrow.makeData({ ...base, type: type as arrow.Bool, data: n.col.data() });
    case KInt:
    case KDate:
      return arrow.makeData({ ...base, type: type as arrow.Int32, data: n.col.int32() });
    case KLong:
      return arrow.makeData({ ...base, type: type as arrow.Int64, data: n.col.int64() });
    case KFloat:
      return arrow.makeData({ ...base, type: type as arrow.Float32, data: n.col.float32() });
    case KDouble:
      return arrow.makeData({ ...base, type: type as arrow.Float64, data: n.col.float64() });
    case KTime:
    case KTimestamp:
    case KTimestampTz:
      return arrow.makeData({ ...base, type: type as arrow.Int64, data: n.col.int64() });
    case KString:
    case KBinary:
      return arrow.makeData({
        ...base,
        type: type as arrow.Utf8,
        valueOffsets: n.col.valueOffsets(),
        data: n.col.data(),
      });
    case KUuid:
    case KFixed:
      return arrow.makeData({ ...base, type: type as arrow.FixedSizeBinary, data: n.col.data() });
    case KDecimal: {
      const bytes = n.col.data();
      const data = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      return arrow.makeData({ ...base, type: type as arrow.Decimal, data });
    }
    case KStruct: {
      const st = type as arrow.Struct;
      const children = n.children.map((ch, i) => dataOf(ch, st.children[i]?.type));
      return arrow.makeData({ ...base, type: st, children });
    }
    case KList: {
      const lt = type as arrow.List;
      const child = dataOf(n.element, lt.children[0]?.type);
      return arrow.makeData({ ...base, type: lt, valueOffsets: n.col.valueOffsets(), child });
    }
    case KMap: {
      const mt = type as arrow.Map_;
      const entries = mt.children[0]?.type as arrow.Struct;
      const key = dataOf(n.key, entries.children[0]?.type);
      const value = dataOf(n.value, entries.children[1]?.type);
      const child = arrow.makeData({
        type: entries,
        length: key.length,
        nullCount: 0,
        children: [key, value],
      });
      return arrow.makeData({ ...base, type: mt, valueOffsets: n.col.valueOffsets(), child });
    }
  }
}

/**
 * A batch's top-level column nodes (value columns, then metadata columns) as one Arrow
 * RecordBatch of `rows` rows in IPC stream bytes, with the Iceberg fields they hold.
 */
export function columnsToIpc(
  children: readonly Node[],
  rows: number,
): { ipc: Uint8Array; fields: NestedField[] } {
  const fields = children.map(fieldOf);
  const arrowFields = fields.map(arrowField);
  const data = arrow.makeData({
    type: new arrow.Struct(arrowFields),
    length: rows,
    nullCount: 0,
    children: children.map((c, k) => dataOf(c, arrowFields[k]?.type)),
  });
  const batch = new arrow.RecordBatch(new arrow.Schema(arrowFields), data);
  // Straight into shared memory: the decode result leaves the worker as this buffer
  // (workers/tasks.ts packDecodeResult), with no second copy.
  return { ipc: tableToIpcInto(new arrow.Table([batch]), sharedBytes), fields };
}

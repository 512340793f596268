/**
 * The Parquet footer (FileMetaData), decoded from the Thrift compact protocol — only the
 * fields a ranged read and row-group pruning need: the schema elements (name, child count,
 * field_id, physical type, repetition, type length, decimal scale, converted and logical
 * type), num_rows, column_orders, and per row group each column chunk's path_in_schema,
 * physical type, num_values, data_page_offset, dictionary_page_offset,
 * total_compressed_size and statistics (raw bytes; ./row-group-stats.ts interprets them).
 * Every other field is skipped by type.
 *
 * Layout (https://parquet.apache.org/docs/file-format/): `PAR1` ... FileMetaData, then a
 * 4-byte little-endian footer length and `PAR1`. Structures:
 * https://github.com/apache/parquet-format/blob/master/src/main/thrift/parquet.thrift
 * Encoding: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */
import { IcebergError } from '../errors.ts';
import {
  ThriftReader as Reader,
  T_BINARY,
  T_FALSE,
  T_I32,
  T_I64,
  T_LIST,
  T_STRUCT,
  T_TRUE,
} from './thrift-compact.ts';

export interface SchemaElement {
  readonly name: string;
  /** Children of a group; undefined for a leaf. */
  readonly numChildren: number | undefined;
  readonly fieldId: number | undefined;
  /** Physical type of a leaf (0 BOOLEAN, 1 INT32, 2 INT64, 3 INT96, 4 FLOAT, 5 DOUBLE,
   * 6 BYTE_ARRAY, 7 FIXED_LEN_BYTE_ARRAY). */
  readonly physicalType?: number;
  /** 0 REQUIRED, 1 OPTIONAL, 2 REPEATED. */
  readonly repetition?: number;
  readonly typeLength?: number;
  readonly convertedType?: number;
  readonly scale?: number;
  readonly logical?: LogicalType;
}

/** The parts of a LogicalType union that matter for statistics. */
export interface LogicalType {
  /** Union member id (1 STRING … 5 DECIMAL, 6 DATE, 7 TIME, 8 TIMESTAMP, 10 INTEGER, 14 UUID). */
  readonly kind: number;
  /** TIME/TIMESTAMP unit: 1 MILLIS, 2 MICROS, 3 NANOS. */
  readonly unit?: number;
  /** DECIMAL scale. */
  readonly scale?: number;
  /** INTEGER signedness. */
  readonly signed?: boolean;
}

/** Column chunk statistics as stored (binary values in PLAIN encoding, no length prefix). */
export interface Statistics {
  /** Deprecated min/max, ordered by signed comparison. */
  readonly max?: Uint8Array;
  readonly min?: Uint8Array;
  readonly nullCount?: number;
  readonly maxValue?: Uint8Array;
  readonly minValue?: Uint8Array;
}

export interface ColumnChunk {
  readonly path: readonly string[];
  /** Byte range of the chunk's pages: from the dictionary page (if any) or first data page. */
  readonly start: number;
  readonly length: number;
  /** Byte ranges of its offset index and column index (page index), where written. */
  readonly indexes: readonly { readonly start: number; readonly length: number }[];
  /** The same two ranges by name (./page-index.ts decodes them). */
  readonly offsetIndex?: { readonly start: number; readonly length: number };
  readonly columnIndex?: { readonly start: number; readonly length: number };
  readonly physicalType: number;
  readonly numValues: number;
  readonly statistics: Statistics | undefined;
}

export interface RowGroup {
  readonly numRows: number;
  readonly columns: readonly ColumnChunk[];
}

export interface FileMetaData {
  readonly schema: readonly SchemaElement[];
  readonly numRows: number;
  readonly rowGroups: readonly RowGroup[];
  /** Per leaf column: true when its order is TypeDefinedOrder; undefined when the footer
   * has no column_orders. */
  readonly typeDefinedOrder: readonly boolean[] | undefined;
}

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

/** Footer length from the file's last 8 bytes (`tail` ends at the end of the file). */
export function footerLength(tail: Uint8Array, path: string): number {
  const n = tail.length;
  if (n < 8 || MAGIC.some((b, i) => tail[n - 4 + i] !== b))
    throw new IcebergError('INVALID_PARQUET', `not a Parquet file (no trailing PAR1): ${path}`);
  return new DataView(tail.buffer, tail.byteOffset + n - 8, 4).getUint32(0, true);
}

/** Decodes a FileMetaData structure (the footer bytes without length and magic). */
export function parseFileMetaData(bytes: Uint8Array): FileMetaData {
  const r = new Reader(bytes);
  let schema: SchemaElement[] = [];
  let numRows = 0;
  let rowGroups: RowGroup[] = [];
  let typeDefinedOrder: boolean[] | undefined;
  r.struct((id, type) => {
    if (id === 2 && type === T_LIST) schema = r.list(() => schemaElement(r));
    else if (id === 3 && type === T_I64) numRows = r.int();
    else if (id === 4 && type === T_LIST) rowGroups = r.list(() => rowGroup(r));
    else if (id === 7 && type === T_LIST)
      typeDefinedOrder = r.list(() => {
        // ColumnOrder is a union; member 1 is TypeDefinedOrder (an empty struct).
        let typeDefined = false;
        r.struct((oid) => {
          if (oid === 1) typeDefined = true;
          return false;
        });
        return typeDefined;
      });
    else return false;
    return true;
  });
  return { schema, numRows, rowGroups, typeDefinedOrder };
}

function schemaElement(r: Reader): SchemaElement {
  let name = '';
  let numChildren: number | undefined;
  let fieldId: number | undefined;
  const el: {
    physicalType?: number;
    repetition?: number;
    typeLength?: number;
    convertedType?: number;
    scale?: number;
    logical?: LogicalType;
  } = {};
  r.struct((id, type) => {
    if (id === 4 && type === T_BINARY) name = r.string();
    else if (id === 5 && type === T_I32) numChildren = r.int();
    else if (id === 9 && type === T_I32) fieldId = r.int();
    else if (id === 1 && type === T_I32) el.physicalType = r.int();
    else if (id === 2 && type === T_I32) el.typeLength = r.int();
    else if (id === 3 && type === T_I32) el.repetition = r.int();
    else if (id === 6 && type === T_I32) el.convertedType = r.int();
    else if (id === 7 && type === T_I32) el.scale = r.int();
    else if (id === 10 && type === T_STRUCT) el.logical = logicalType(r);
    else return false;
    return true;
  });
  return { name, numChildren, fieldId, ...el };
}

function logicalType(r: Reader): LogicalType | undefined {
  let out: LogicalType | undefined;
  r.struct((kind, type) => {
    if (type !== T_STRUCT) return false;
    const lt: { kind: number; unit?: number; scale?: number; signed?: boolean } = { kind };
    r.struct((id, t) => {
      if (kind === 5 && id === 1 && t === T_I32) lt.scale = r.int();
      else if ((kind === 7 || kind === 8) && id === 2 && t === T_STRUCT)
        r.struct((unit) => {
          lt.unit = unit;
          return false;
        });
      else if (kind === 10 && id === 2 && (t === T_TRUE || t === T_FALSE)) lt.signed = t === T_TRUE;
      else return false;
      return true;
    });
    out = lt;
    return true;
  });
  return out;
}

function statistics(r: Reader): Statistics {
  const s: {
    max?: Uint8Array;
    min?: Uint8Array;
    nullCount?: number;
    maxValue?: Uint8Array;
    minValue?: Uint8Array;
  } = {};
  r.struct((id, type) => {
    if (id === 1 && type === T_BINARY) s.max = r.binary();
    else if (id === 2 && type === T_BINARY) s.min = r.binary();
    else if (id === 3 && type === T_I64) s.nullCount = r.int();
    else if (id === 5 && type === T_BINARY) s.maxValue = r.binary();
    else if (id === 6 && type === T_BINARY) s.minValue = r.binary();
    else return false;
    return true;
  });
  return s;
}

function rowGroup(r: Reader): RowGroup {
  let columns: ColumnChunk[] = [];
  let numRows = 0;
  r.struct((id, type) => {
    if (id === 1 && type === T_LIST) columns = r.list(() => columnChunk(r));
    else if (id === 3 && type === T_I64) numRows = r.int();
    else return false;
    return true;
  });
  return { numRows, columns };
}

function columnChunk(r: Reader): ColumnChunk {
  let chunk: ChunkMeta | undefined;
  // offset_index_offset/length (4, 5), column_index_offset/length (6, 7).
  const idx: Record<number, number> = {};
  r.struct((id, type) => {
    if (id === 1 && type === T_BINARY)
      throw new IcebergError(
        'INVALID_PARQUET',
        'Parquet column chunks in another file are not supported',
      );
    if (id === 3 && type === T_STRUCT) chunk = columnMetaData(r);
    else if (id >= 4 && id <= 7 && (type === T_I64 || type === T_I32)) idx[id] = r.int();
    else return false;
    return true;
  });
  if (!chunk) throw new IcebergError('INVALID_PARQUET', 'Parquet column chunk has no meta_data');
  const range = (at: number | undefined, length: number | undefined) =>
    at !== undefined && length !== undefined && length > 0 ? { start: at, length } : undefined;
  const offsetIndex = range(idx[4], idx[5]);
  const columnIndex = range(idx[6], idx[7]);
  const indexes = [offsetIndex, columnIndex].filter((x) => x !== undefined);
  return {
    ...chunk,
    indexes,
    ...(offsetIndex ? { offsetIndex } : {}),
    ...(columnIndex ? { columnIndex } : {}),
  };
}

type ChunkMeta = Omit<ColumnChunk, 'indexes' | 'offsetIndex' | 'columnIndex'>;

function columnMetaData(r: Reader): ChunkMeta {
  let path: string[] = [];
  let size = 0;
  let dataPage = 0;
  let dictPage: number | undefined;
  let physicalType = -1;
  let numValues = 0;
  let stats: Statistics | undefined;
  r.struct((id, type) => {
    if (id === 3 && type === T_LIST) path = r.list(() => r.string());
    else if (id === 1 && type === T_I32) physicalType = r.int();
    else if (id === 5 && type === T_I64) numValues = r.int();
    else if (id === 12 && type === T_STRUCT) stats = statistics(r);
    else if (id === 7 && type === T_I64) size = r.int();
    else if (id === 9 && type === T_I64) dataPage = r.int();
    else if (id === 11 && type === T_I64) dictPage = r.int();
    else return false;
    return true;
  });
  // Some writers store dictionary_page_offset 0 for "none": only trust one before the data.
  const start = dictPage !== undefined && dictPage > 0 && dictPage < dataPage ? dictPage : dataPage;
  return { path, start, length: size, physicalType, numValues, statistics: stats };
}

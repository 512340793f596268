/**
 * Iceberg types ↔ Avro schemas, and in-memory values ↔ Avro datums.
 *
 * Spec: https://iceberg.apache.org/spec/#avro (Appendix A)
 *
 *   boolean "boolean" · int "int" · long "long" · float "float" · double "double"
 *   date {"type":"int","logicalType":"date"}
 *   time {"type":"long","logicalType":"time-micros"}
 *   timestamp(tz) {"type":"long","logicalType":"timestamp-micros","adjust-to-utc":false|true}
 *   string "string" · binary "bytes" · fixed[L] {"type":"fixed","name":"fixed_L","size":L}
 *   uuid {"type":"fixed","name":"uuid_fixed","size":16,"logicalType":"uuid"}
 *   decimal(P,S) {"type":"fixed","name":"decimal_P_S","size":minBytes(P),
 *                 "logicalType":"decimal","precision":P,"scale":S}
 *   struct {"type":"record","name":"r<fieldId>","fields":[{"name":n,"type":T,"field-id":id}]}
 *   optional T ["null",T] with "default":null on record fields
 *   list {"type":"array","items":T,"element-id":id}
 *   map<string,V> {"type":"map","values":V,"key-id":k,"value-id":v}
 *   map<K,V> {"type":"array","logicalType":"map","items":{"type":"record","name":"k<k>_v<v>",
 *             "fields":[{"name":"key","type":K,"field-id":k},{"name":"value","type":V,"field-id":v}]}}
 *
 * A named type used twice (two decimal(9, 2) fields) is defined once and then referenced
 * by name, as Avro requires. Field names Avro cannot hold are sanitized as Java does
 * ("a-b" → "a_x2Db") and the original kept in "iceberg-field-name".
 */
import { IcebergError } from '../errors.ts';
import {
  decimalParams,
  type IcebergType,
  type NestedField,
  parsePrimitive,
  type StructType,
} from './types.ts';

type AvroJson = string | AvroJson[] | { [k: string]: unknown };

/** Bytes needed to hold any unscaled value of a decimal with `precision` digits. */
export function decimalRequiredBytes(precision: number): number {
  const max = 10n ** BigInt(precision) - 1n;
  let bytes = 1;
  while ((1n << BigInt(8 * bytes - 1)) - 1n < max) bytes++;
  return bytes;
}

function isValidAvroName(name: string): boolean {
  return /^[\p{L}_][\p{L}\p{Nd}_]*$/u.test(name);
}

function sanitizeChar(c: string): string {
  return /\p{Nd}/u.test(c) ? `_${c}` : `_x${c.charCodeAt(0).toString(16).toUpperCase()}`;
}

/** The Avro field name for an Iceberg field name (sanitized when Avro cannot hold it). */
export function avroFieldName(name: string): string {
  if (isValidAvroName(name)) return name;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charAt(i);
    const ok = i === 0 ? /[\p{L}_]/u.test(c) : /[\p{L}\p{Nd}_]/u.test(c);
    out += ok ? c : sanitizeChar(c);
  }
  return out;
}

/** Avro schema JSON for an Iceberg struct, as a record named `recordName`. */
export function avroSchemaFor(struct: StructType, recordName: string): Record<string, unknown> {
  const defined = new Set<string>();
  const named = (name: string, schema: Record<string, unknown>): AvroJson => {
    if (defined.has(name)) return name;
    defined.add(name);
    return schema;
  };
  const optional = (t: AvroJson, required: boolean): AvroJson => (required ? t : ['null', t]);

  const convert = (t: IcebergType, recordNameIfStruct: string): AvroJson => {
    if (typeof t === 'string') return primitive(t);
    switch (t.type) {
      case 'struct':
        return record(t, recordNameIfStruct);
      case 'list':
        return {
          type: 'array',
          items: optional(convert(t.element, `r${t.elementId}`), t.elementRequired),
          'element-id': t.elementId,
        };
      case 'map': {
        const value = optional(convert(t.value, `r${t.valueId}`), t.valueRequired);
        if (t.key === 'string') {
          return { type: 'map', values: value, 'key-id': t.keyId, 'value-id': t.valueId };
        }
        return {
          type: 'array',
          logicalType: 'map',
          items: {
            type: 'record',
            name: `k${t.keyId}_v${t.valueId}`,
            fields: [
              { name: 'key', type: convert(t.key, `r${t.keyId}`), 'field-id': t.keyId },
              {
                name: 'value',
                type: value,
                ...(t.valueRequired ? {} : { default: null }),
                'field-id': t.valueId,
              },
            ],
          },
        };
      }
    }
  };

  const primitive = (t: string): AvroJson => {
    switch (t) {
      case 'boolean':
      case 'int':
      case 'long':
      case 'float':
      case 'double':
      case 'string':
        return t;
      case 'binary':
        return 'bytes';
      case 'date':
        return { type: 'int', logicalType: 'date' };
      case 'time':
        return { type: 'long', logicalType: 'time-micros' };
      case 'timestamp':
      case 'timestamptz':
        return {
          type: 'long',
          logicalType: 'timestamp-micros',
          'adjust-to-utc': t === 'timestamptz',
        };
      case 'uuid':
        return named('uuid_fixed', {
          type: 'fixed',
          name: 'uuid_fixed',
          size: 16,
          logicalType: 'uuid',
        });
    }
    const d = decimalParams(t as IcebergType);
    if (d) {
      const name = `decimal_${d.precision}_${d.scale}`;
      return named(name, {
        type: 'fixed',
        name,
        size: decimalRequiredBytes(d.precision),
        logicalType: 'decimal',
        precision: d.precision,
        scale: d.scale,
      });
    }
    const m = /^fixed\[(\d+)\]$/.exec(t);
    if (m)
      return named(`fixed_${m[1]}`, { type: 'fixed', name: `fixed_${m[1]}`, size: Number(m[1]) });
    throw new IcebergError('INVALID_SCHEMA', `no Avro type for Iceberg type "${t}"`);
  };

  const record = (s: StructType, name: string): AvroJson => ({
    type: 'record',
    name,
    fields: s.fields.map((f) => {
      const avroName = avroFieldName(f.name);
      return {
        name: avroName,
        ...(f.doc !== undefined ? { doc: f.doc } : {}),
        type: optional(convert(f.type, `r${f.id}`), f.required),
        ...(f.required ? {} : { default: null }),
        'field-id': f.id,
        ...(avroName !== f.name ? { 'iceberg-field-name': f.name } : {}),
      };
    }),
  });

  return record(struct, recordName) as Record<string, unknown>;
}

// ---------------------------------------------------------------- Avro → Iceberg

function unsupported(path: string, msg: string): never {
  throw new IcebergError('INVALID_SCHEMA', `avro schema ${path}: ${msg}`, { context: { path } });
}

/**
 * The Iceberg struct described by an Avro record schema with field IDs (the inverse of
 * {@link avroSchemaFor}); used to read partition tuples from a manifest's own schema.
 */
export function structFromAvroSchema(record: unknown): StructType {
  const named = new Map<string, Record<string, unknown>>();

  const resolve = (s: unknown): unknown => {
    if (typeof s === 'string' && named.has(s)) return named.get(s);
    if (s !== null && typeof s === 'object' && !Array.isArray(s)) {
      const o = s as Record<string, unknown>;
      if (typeof o.name === 'string' && ['record', 'fixed', 'enum'].includes(String(o.type))) {
        named.set(o.name, o);
      }
      if (typeof o.type === 'string' && named.has(o.type)) return named.get(o.type);
    }
    return s;
  };

  /** Strips ["null", T] into T and reports whether null was allowed. */
  const unwrap = (s: unknown, path: string): { type: unknown; optional: boolean } => {
    if (!Array.isArray(s)) return { type: resolve(s), optional: false };
    const rest = s.filter((b) => b !== 'null');
    if (rest.length !== 1) unsupported(path, 'only ["null", T] unions are supported');
    return { type: resolve(rest[0]), optional: rest.length < s.length };
  };

  const id = (o: Record<string, unknown>, key: string, path: string): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v)) unsupported(path, `missing ${key}`);
    return v;
  };

  const convert = (s: unknown, path: string): IcebergType => {
    if (typeof s === 'string') {
      const simple: Record<string, string> = { bytes: 'binary' };
      return parsePrimitive(simple[s] ?? s);
    }
    if (s === null || typeof s !== 'object' || Array.isArray(s))
      unsupported(path, 'unexpected schema');
    const o = s as Record<string, unknown>;
    switch (o.type) {
      case 'record':
        return struct(o, path);
      case 'int':
        return o.logicalType === 'date' ? 'date' : 'int';
      case 'long':
        if (o.logicalType === 'time-micros') return 'time';
        if (o.logicalType === 'timestamp-micros')
          return o['adjust-to-utc'] === true ? 'timestamptz' : 'timestamp';
        return 'long';
      case 'string':
        return o.logicalType === 'uuid' ? 'uuid' : 'string';
      case 'bytes':
      case 'fixed':
        if (o.logicalType === 'decimal')
          return parsePrimitive(`decimal(${o.precision}, ${o.scale ?? 0})`);
        if (o.logicalType === 'uuid') return 'uuid';
        return o.type === 'bytes' ? 'binary' : parsePrimitive(`fixed[${o.size}]`);
      case 'array': {
        const items = unwrap(o.items, `${path}.items`);
        if (o.logicalType === 'map') {
          const kv = items.type as Record<string, unknown>;
          const [k, v] = (kv.fields ?? []) as Record<string, unknown>[];
          if (!k || !v) unsupported(path, 'map record needs key and value fields');
          const value = unwrap(v.type, `${path}.value`);
          return {
            type: 'map',
            keyId: id(k, 'field-id', `${path}.key`),
            key: convert(unwrap(k.type, `${path}.key`).type, `${path}.key`),
            valueId: id(v, 'field-id', `${path}.value`),
            value: convert(value.type, `${path}.value`),
            valueRequired: !value.optional,
          };
        }
        return {
          type: 'list',
          elementId: id(o, 'element-id', path),
          element: convert(items.type, `${path}.items`),
          elementRequired: !items.optional,
        };
      }
      case 'map': {
        const value = unwrap(o.values, `${path}.values`);
        return {
          type: 'map',
          keyId: id(o, 'key-id', path),
          key: 'string',
          valueId: id(o, 'value-id', path),
          value: convert(value.type, `${path}.values`),
          valueRequired: !value.optional,
        };
      }
      default:
        return convert(o.type, path);
    }
  };

  const struct = (o: Record<string, unknown>, path: string): StructType => {
    if (!Array.isArray(o.fields)) unsupported(path, 'record without fields');
    const fields = (o.fields as Record<string, unknown>[]).map((f, i): NestedField => {
      const fp = `${path}.fields[${i}]`;
      const t = unwrap(f.type, fp);
      const original = f['iceberg-field-name'];
      return {
        id: id(f, 'field-id', fp),
        name: typeof original === 'string' ? original : String(f.name),
        required: !t.optional,
        type: convert(t.type, fp),
      };
    });
    return { type: 'struct', fields };
  };

  const root = resolve(record);
  if (root === null || typeof root !== 'object' || (root as { type?: unknown }).type !== 'record')
    unsupported('$', 'expected a record');
  return struct(root as Record<string, unknown>, '$');
}

// ---------------------------------------------------------------- values

function badValue(type: IcebergType, v: unknown, why: string): never {
  const shown = typeof v === 'bigint' ? `${v}n` : String(v);
  throw new IcebergError('INVALID_ARGUMENT', `value ${shown} for ${JSON.stringify(type)}: ${why}`);
}

/** Two's-complement big-endian bytes of `v`, exactly `size` long. */
function bigintToBytes(v: bigint, size: number): Uint8Array | undefined {
  const bits = BigInt(8 * size);
  if (v >= 1n << (bits - 1n) || v < -(1n << (bits - 1n))) return undefined;
  let u = BigInt.asUintN(8 * size, v);
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

function bytesToBigint(b: Uint8Array): bigint {
  let u = 0n;
  for (const x of b) u = (u << 8n) | BigInt(x);
  return b.length === 0 ? 0n : BigInt.asIntN(8 * b.length, u);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidToBytes(s: string): Uint8Array {
  const hex = s.replaceAll('-', '');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytesToUuid(b: Uint8Array): string {
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Converts an in-memory value (conventions in ./types.ts) into the Avro datum for the
 * schema {@link avroSchemaFor} gives `type`: decimal → fixed bytes of the unscaled value
 * (two's complement, big-endian); uuid → 16 bytes; structs (arrays in field order or
 * objects keyed by field name) → records; lists → arrays; maps (Map) → Avro maps or
 * key/value record arrays. null stays null.
 */
export function toAvroValue(type: IcebergType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof type === 'string') {
    if (type === 'uuid') {
      if (v instanceof Uint8Array && v.length === 16) return v;
      if (typeof v !== 'string' || !UUID_RE.test(v)) badValue(type, v, 'expected a UUID string');
      return uuidToBytes(v);
    }
    const d = decimalParams(type);
    if (d) {
      if (typeof v !== 'bigint') badValue(type, v, 'expected a bigint unscaled value');
      const bytes = bigintToBytes(v, decimalRequiredBytes(d.precision));
      if (!bytes) badValue(type, v, `does not fit precision ${d.precision}`);
      return bytes;
    }
    return v;
  }
  switch (type.type) {
    case 'struct': {
      const out: Record<string, unknown> = {};
      type.fields.forEach((f, i) => {
        const x = Array.isArray(v) ? v[i] : (v as Record<string, unknown>)[f.name];
        out[avroFieldName(f.name)] = toAvroValue(f.type, x);
      });
      return out;
    }
    case 'list':
      if (!Array.isArray(v)) badValue(type, v, 'expected an array');
      return v.map((x) => toAvroValue(type.element, x));
    case 'map': {
      const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
      if (type.key === 'string') {
        return new Map(entries.map(([k, x]) => [k, toAvroValue(type.value, x)]));
      }
      return entries.map(([k, x]) => ({
        key: toAvroValue(type.key, k),
        value: toAvroValue(type.value, x),
      }));
    }
  }
}

/** Converts an Avro datum read with {@link avroSchemaFor}'s schema back to the in-memory value. */
export function fromAvroValue(type: IcebergType, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof type === 'string') {
    switch (type) {
      case 'long':
      case 'time':
      case 'timestamp':
      case 'timestamptz':
        return typeof v === 'number' ? BigInt(v) : v;
      case 'uuid':
        return v instanceof Uint8Array ? bytesToUuid(v) : String(v).toLowerCase();
    }
    if (decimalParams(type)) {
      if (!(v instanceof Uint8Array)) badValue(type, v, 'expected decimal bytes');
      return bytesToBigint(v);
    }
    return v;
  }
  switch (type.type) {
    case 'struct': {
      const rec = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of type.fields) out[f.name] = fromAvroValue(f.type, rec[avroFieldName(f.name)]);
      return out;
    }
    case 'list':
      return (v as unknown[]).map((x) => fromAvroValue(type.element, x));
    case 'map': {
      const out = new Map<unknown, unknown>();
      if (v instanceof Map) {
        for (const [k, x] of v) out.set(k, fromAvroValue(type.value, x));
      } else {
        for (const kv of v as { key: unknown; value: unknown }[]) {
          out.set(fromAvroValue(type.key, kv.key), fromAvroValue(type.value, kv.value));
        }
      }
      return out;
    }
  }
}

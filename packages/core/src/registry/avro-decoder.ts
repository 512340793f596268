/**
 * Decodes one Avro datum (a Confluent-framed record's payload) into a row of the in-memory
 * value conventions of @kice/iceberg (spec/types.ts): long → bigint; decimal → bigint
 * (unscaled); time, timestamp(tz) → bigint µs; date → number (days); uuid → lowercase
 * string; fixed, bytes → Uint8Array; enum → its symbol; record → object; array → array;
 * map → Map<string, V>; a non-null-only union → an object with one member set (the
 * others null), named as registry/avro-schema.ts names them.
 *
 * Binary decoding is avsc's (https://github.com/mtth/avsc), with longs read as bigint
 * (its `LongType.__with` hook) and unions always wrapped, so that no value depends on a
 * guess. Logical types are converted here from the writer schema's JSON (avsc's own
 * logical types are not used). Avro spec: https://avro.apache.org/docs/1.12.0/specification/#binary-encoding
 *
 * `decode` throws DECODE_FAILED with the reason for truncated, corrupt or trailing bytes.
 */
import avro from 'avsc';
import { KiceError } from '../errors.ts';

type AvroJson = string | AvroJson[] | { [k: string]: unknown };
type Convert = (v: unknown) => unknown;

const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return b;
  },
  fromJSON: (x: unknown) => BigInt(x as number),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

const PRIMS = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

function fullName(name: string, ns: string | undefined): string {
  return name.includes('.') || !ns ? name : `${ns}.${name}`;
}

/** Big-endian two's complement → bigint. */
function unscaled(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  if ((b[0] as number) & 0x80) v -= 1n << BigInt(b.length * 8);
  return v;
}

const bytes = (v: unknown): Uint8Array => {
  const b = v as Buffer;
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};

class Builder {
  private readonly named = new Map<string, Record<string, unknown>>();

  /** Avro's union branch key (avsc wrapped unions): qualified name for named types. */
  private branchKey(s: AvroJson, ns: string | undefined): string {
    if (typeof s === 'string') return PRIMS.has(s) ? s : fullName(s, ns);
    if (Array.isArray(s)) return 'union';
    if (
      typeof s.name === 'string' &&
      (s.type === 'record' || s.type === 'enum' || s.type === 'fixed' || s.type === 'error')
    ) {
      return fullName(s.name, typeof s.namespace === 'string' ? s.namespace : ns);
    }
    return typeof s.type === 'string' ? s.type : 'union';
  }

  build(s: AvroJson, ns: string | undefined): Convert {
    if (Array.isArray(s)) return this.union(s, ns);
    if (typeof s === 'string') {
      if (PRIMS.has(s)) return this.primitive(s, undefined);
      const def = this.named.get(fullName(s, ns)) ?? this.named.get(s);
      if (!def) throw new KiceError('INTERNAL', `avro: unknown type ${s}`);
      return this.build(def as AvroJson, ns);
    }
    const t = s.type;
    if (t === 'record' || t === 'error' || t === 'enum' || t === 'fixed') {
      const own = typeof s.namespace === 'string' ? s.namespace : ns;
      const full = fullName(s.name as string, own);
      this.named.set(full, s);
      const inner = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : undefined;
      if (t === 'enum') return (v) => v;
      if (t === 'fixed') return this.primitive('fixed', s);
      const fields = (s.fields as { name: string; type: AvroJson }[]).map(
        (f) => [f.name, this.build(f.type, inner)] as const,
      );
      return (v) => {
        const r = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [name, c] of fields) out[name] = c(r[name]);
        return out;
      };
    }
    if (t === 'array') {
      const el = this.build(s.items as AvroJson, ns);
      return (v) => (v as unknown[]).map(el);
    }
    if (t === 'map') {
      const val = this.build(s.values as AvroJson, ns);
      return (v) =>
        new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, val(x)]));
    }
    if (typeof t === 'string' && PRIMS.has(t)) return this.primitive(t, s);
    return this.build(t as AvroJson, ns);
  }

  private primitive(base: string, s: Record<string, unknown> | undefined): Convert {
    const lt = s?.logicalType;
    switch (base) {
      case 'int':
        if (lt === 'time-millis') return (v) => BigInt(v as number) * 1000n;
        return (v) => v;
      case 'long':
        if (lt === 'timestamp-millis' || lt === 'local-timestamp-millis')
          return (v) => (v as bigint) * 1000n;
        return (v) => v;
      case 'bytes':
      case 'fixed':
        if (lt === 'decimal' && typeof s?.precision === 'number')
          return (v) => unscaled(v as Buffer);
        if (lt === 'uuid' && base === 'fixed' && s?.size === 16) {
          return (v) => {
            const h = (v as Buffer).toString('hex');
            return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
          };
        }
        return bytes;
      case 'string':
        if (lt === 'uuid') return (v) => (v as string).toLowerCase();
        return (v) => v;
      default:
        return (v) => v;
    }
  }

  private union(branches: AvroJson[], ns: string | undefined): Convert {
    const nonNull = branches.filter((b) => b !== 'null');
    const convs = new Map<string, { member: string; c: Convert }>();
    for (const b of nonNull) {
      const key = this.branchKey(b, ns);
      const member = key.slice(key.lastIndexOf('.') + 1);
      convs.set(key, { member, c: this.build(b, ns) });
    }
    if (nonNull.length === 1) {
      const only = [...convs.values()][0] as { c: Convert };
      return (v) => {
        if (v === null) return null;
        const [, x] = Object.entries(v as object)[0] as [string, unknown];
        return only.c(x);
      };
    }
    const members = [...convs.values()].map((m) => m.member);
    return (v) => {
      if (v === null) return null;
      const [key, x] = Object.entries(v as object)[0] as [string, unknown];
      const out: Record<string, unknown> = {};
      for (const m of members) out[m] = null;
      const b = convs.get(key);
      if (b) out[b.member] = b.c(x);
      return out;
    };
  }
}

/** A compiled reader of one writer schema. */
export interface AvroReader {
  /** Decodes `buf[offset..]` (exactly one datum, nothing after it) into a row. */
  decode(buf: Buffer, offset: number): Record<string, unknown>;
}

export function compileAvroReader(schema: AvroJson): AvroReader {
  const type = avro.Type.forSchema(
    schema as avro.Schema,
    {
      wrapUnions: true,
      registry: { long: bigintLong },
      // `{"type": "long", "logicalType": …}` objects bypass the registry: read them as bigint too.
      typeHook: (s: unknown) =>
        s !== null && typeof s === 'object' && (s as { type?: unknown }).type === 'long'
          ? bigintLong
          : undefined,
    } as Partial<avro.ForSchemaOptions>,
  );
  const convert = new Builder().build(schema, undefined);
  return {
    decode(buf, offset) {
      let res: { value: unknown; offset: number };
      try {
        res = type.decode(buf, offset);
      } catch (e) {
        throw new KiceError('DECODE_FAILED', `corrupt Avro payload: ${(e as Error).message}`, {
          cause: e,
        });
      }
      if (res.offset < 0) {
        throw new KiceError(
          'DECODE_FAILED',
          `truncated Avro payload: ${buf.length - offset} bytes end inside the datum`,
        );
      }
      if (res.offset !== buf.length) {
        throw new KiceError(
          'DECODE_FAILED',
          `corrupt Avro payload: ${buf.length - res.offset} bytes left after the datum`,
        );
      }
      return convert(res.value) as Record<string, unknown>;
    },
  };
}

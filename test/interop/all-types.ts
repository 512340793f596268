/**
 * A schema with every Iceberg primitive plus nested struct/list/map, and a deterministic
 * row generator that cycles through the edge values readers get wrong: NaN, ±Infinity,
 * -0.0, int and long extremes, year 1 and 9999-12-31, 38-digit decimals, non-ASCII
 * strings (emoji, CJK, combining marks), nulls at every optional level.
 *
 * Values follow the in-memory conventions of packages/iceberg/src/spec/types.ts.
 */
import { type Schema, schemaFromJson } from '@kice/iceberg';

/** Columns by name → Iceberg type; field IDs 1..21 top level, nested ones after. */
export const ALL_TYPES_SCHEMA: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'b', required: false, type: 'boolean' },
    { id: 3, name: 'i', required: false, type: 'int' },
    { id: 4, name: 'l', required: false, type: 'long' },
    { id: 5, name: 'f', required: false, type: 'float' },
    { id: 6, name: 'd', required: false, type: 'double' },
    { id: 7, name: 'dec9', required: false, type: 'decimal(9, 2)' },
    { id: 8, name: 'dec38', required: false, type: 'decimal(38, 10)' },
    { id: 9, name: 'dt', required: false, type: 'date' },
    { id: 10, name: 'tm', required: false, type: 'time' },
    { id: 11, name: 'ts', required: false, type: 'timestamp' },
    { id: 12, name: 'tstz', required: false, type: 'timestamptz' },
    { id: 13, name: 's', required: false, type: 'string' },
    { id: 14, name: 'u', required: false, type: 'uuid' },
    { id: 15, name: 'fx', required: false, type: 'fixed[4]' },
    { id: 16, name: 'bin', required: false, type: 'binary' },
    { id: 17, name: 'cat', required: false, type: 'string' },
    {
      id: 18,
      name: 'st',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 22, name: 'a', required: false, type: 'int' },
          {
            id: 23,
            name: 'inner',
            required: false,
            type: {
              type: 'struct',
              fields: [
                { id: 24, name: 'x', required: false, type: 'string' },
                { id: 25, name: 'y', required: false, type: 'double' },
              ],
            },
          },
        ],
      },
    },
    {
      id: 19,
      name: 'ls',
      required: false,
      type: { type: 'list', 'element-id': 26, element: 'string', 'element-required': false },
    },
    {
      id: 20,
      name: 'lst',
      required: false,
      type: {
        type: 'list',
        'element-id': 27,
        'element-required': false,
        element: {
          type: 'struct',
          fields: [
            { id: 28, name: 'k', required: false, type: 'string' },
            { id: 29, name: 'v', required: false, type: 'long' },
          ],
        },
      },
    },
    {
      id: 21,
      name: 'm',
      required: false,
      type: {
        type: 'map',
        'key-id': 30,
        key: 'string',
        'value-id': 31,
        value: 'long',
        'value-required': false,
      },
    },
  ],
});

export const DAY_US = 86_400_000_000n;
/** 2024-01-01T00:00:00 in µs since the epoch. */
export const BASE_TS = 1_704_067_200_000_000n;
/** 0001-01-01T00:00:00 and 9999-12-31T23:59:59.999999 in µs (PyArrow/Python datetime's range). */
export const TS_MIN = -62_135_596_800_000_000n;
export const TS_MAX = 253_402_300_799_999_999n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const DEC38_MAX = 10n ** 38n - 1n;

/** Strings with emoji (astral plane), CJK, combining marks, path-hostile characters. */
export const STRINGS: readonly (string | null)[] = [
  'plain',
  'héllo wörld',
  '😀 emoji 🎉 ok',
  '中文字符测试',
  'e\u0301\u0301 combining',
  '',
  null,
  'a/b?c=d&e f%25',
  'long '.repeat(12),
];
/** Identity partition values, including ones that must be URL-encoded in paths. */
export const CATEGORIES: readonly (string | null)[] = ['alpha', 'b c', 'ü/ö', null, 'α=β'];

const pick = <T>(values: readonly T[], n: number): T => values[n % values.length] as T;

/** The timestamp of row `id`: mostly 2024-01-01..04 (day = id % 4), sometimes an extreme. */
export function tsOf(id: number): bigint | null {
  switch (id % 11) {
    case 3:
      return TS_MIN;
    case 4:
      return TS_MAX;
    case 5:
      return null;
    default:
      return BASE_TS + BigInt(id % 4) * DAY_US + BigInt(id) * 1_000_001n;
  }
}

/** Row `id` (1-based), deterministic. */
export function allTypesRow(id: number): Record<string, unknown> {
  const n = id;
  return {
    id: BigInt(id),
    b: pick([true, false, null], n),
    i: pick([0, 1, -1, 2_147_483_647, -2_147_483_648, null, 123_456], n),
    l: pick([0n, LONG_MIN, LONG_MAX, null, 42n, -42n], n),
    f: pick(
      [
        1.5,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        -0,
        0,
        null,
        Math.fround(3.14),
        Math.fround(-1e30),
      ],
      n,
    ),
    d: pick(
      [
        Math.PI,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        -0,
        0,
        null,
        1e308,
        -5e-324,
      ],
      n + 1,
    ),
    dec9: pick([0n, 12_345n, -999_999_999n, 999_999_999n, null, 1n, -1n], n),
    dec38: pick(
      [DEC38_MAX, -DEC38_MAX, 0n, null, 12_345_678_901_234_567_890_123_456_789_012_345_678n, -1n],
      n,
    ),
    dt: pick([-719_162, 2_932_896, 0, null, 19_723, -1], n),
    tm: pick([0n, 86_399_999_999n, null, 45_296_789_012n], n),
    ts: tsOf(id),
    tstz: pick([TS_MIN, TS_MAX, 0n, null, BASE_TS + BigInt(id)], n + 2),
    s: pick(STRINGS, n),
    u: pick(
      [
        '00000000-0000-0000-0000-000000000000',
        'f79c3e09-677c-4bbd-a479-3f349cb785e7',
        'ffffffff-ffff-ffff-ffff-ffffffffffff',
        null,
      ],
      n,
    ),
    fx: pick(
      [
        new Uint8Array([0, 0, 0, 0]),
        new Uint8Array([255, 254, 253, 252]),
        null,
        new Uint8Array([1, 2, 3, 4]),
      ],
      n,
    ),
    bin: pick(
      [
        new Uint8Array(0),
        new Uint8Array([0, 255, 128]),
        null,
        new Uint8Array(300).map((_, k) => k % 256),
      ],
      n,
    ),
    cat: pick(CATEGORIES, n),
    st: pick(
      [
        null,
        { a: 1, inner: null },
        { a: null, inner: { x: '内側 😀', y: Number.NaN } },
        { a: -2_147_483_648, inner: { x: null, y: null } },
        { a: 7, inner: { x: 'x', y: -0 } },
      ],
      n,
    ),
    ls: pick([null, [], ['a', null, '😀'], ['x']], n),
    lst: pick(
      [
        null,
        [],
        [
          { k: 'a', v: 1n },
          { k: null, v: null },
        ],
        [null, { k: 'ü', v: LONG_MIN }],
      ],
      n + 1,
    ),
    m: pick(
      [
        null,
        new Map<string, bigint | null>(),
        new Map<string, bigint | null>([
          ['a', 1n],
          ['ü😀', LONG_MIN],
          ['n', null],
        ]),
        new Map<string, bigint | null>([['z', LONG_MAX]]),
      ],
      n,
    ),
  };
}

/** The all-types schema without `time`: Spark has no TIME type and cannot read a table
 * with a `time` column at all. */
export const SPARK_TYPES_SCHEMA: Schema = {
  ...ALL_TYPES_SCHEMA,
  fields: ALL_TYPES_SCHEMA.fields.filter((f) => f.type !== 'time'),
};

/** Row `id` of the all-types fixture without its `time` column. */
export function sparkTypesRow(id: number): Record<string, unknown> {
  const { tm: _, ...row } = allTypesRow(id);
  return row;
}

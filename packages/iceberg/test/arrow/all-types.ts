/** A schema with every primitive type plus nested struct/list/map, and rows at the edges. */
import { type Schema, schemaFromJson } from '../../src/spec/types.ts';

export const ALL_TYPES: Schema = schemaFromJson({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'b', required: false, type: 'boolean' },
    { id: 2, name: 'i', required: true, type: 'int' },
    { id: 3, name: 'l', required: false, type: 'long' },
    { id: 4, name: 'f', required: false, type: 'float' },
    { id: 5, name: 'd', required: false, type: 'double' },
    { id: 6, name: 'dec', required: false, type: 'decimal(38, 10)' },
    { id: 7, name: 'dt', required: false, type: 'date' },
    { id: 8, name: 't', required: false, type: 'time' },
    { id: 9, name: 'ts', required: false, type: 'timestamp' },
    { id: 10, name: 'tstz', required: false, type: 'timestamptz' },
    { id: 11, name: 's', required: false, type: 'string' },
    { id: 12, name: 'u', required: false, type: 'uuid' },
    { id: 13, name: 'fx', required: false, type: 'fixed[3]' },
    { id: 14, name: 'bin', required: false, type: 'binary' },
    {
      id: 15,
      name: 'st',
      required: false,
      type: {
        type: 'struct',
        fields: [
          { id: 16, name: 'x', required: false, type: 'int' },
          { id: 17, name: 'y', required: true, type: 'string' },
        ],
      },
    },
    {
      id: 18,
      name: 'ls',
      required: false,
      type: { type: 'list', 'element-id': 19, element: 'string', 'element-required': false },
    },
    {
      id: 20,
      name: 'mp',
      required: false,
      type: {
        type: 'map',
        'key-id': 21,
        key: 'string',
        'value-id': 22,
        value: 'long',
        'value-required': false,
      },
    },
    { id: 23, name: 'dec9', required: false, type: 'decimal(9, 2)' },
    { id: 24, name: 'dec18', required: false, type: 'decimal(18, 2)' },
    {
      id: 25,
      name: 'lst',
      required: false,
      type: {
        type: 'list',
        'element-id': 26,
        'element-required': true,
        element: {
          type: 'struct',
          fields: [{ id: 27, name: 'z', required: false, type: 'double' }],
        },
      },
    },
  ],
});

const MAX_DEC38 = 10n ** 38n - 1n;

export const ALL_TYPES_ROWS: Record<string, unknown>[] = [
  {
    b: true,
    i: 2147483647,
    l: -9223372036854775808n,
    f: 1.5,
    d: Number.NaN,
    dec: MAX_DEC38,
    dt: -719162, // 0001-01-01
    t: 86399999999n,
    ts: 1700000000123456n,
    tstz: -1n,
    s: 'héllo wörld ✓ 😀',
    u: 'f79c3e09-677c-4bbd-a479-3f349cb785e7',
    fx: new Uint8Array([1, 2, 3]),
    bin: new Uint8Array([0, 255, 7]),
    st: { x: 5, y: 'a' },
    ls: ['a', null, ''],
    mp: new Map<string, bigint | null>([
      ['k', 1n],
      ['z', null],
    ]),
    dec9: 999999999n,
    dec18: -999999999999999999n,
    lst: [{ z: -0 }, { z: null }],
  },
  {
    b: false,
    i: -2147483648,
    l: 9223372036854775807n,
    f: Number.NEGATIVE_INFINITY,
    d: -0,
    dec: -MAX_DEC38,
    dt: 2932896, // 9999-12-31
    t: 0n,
    ts: -62135596800000000n, // 0001-01-01T00:00:00
    tstz: 253402300799999999n, // 9999-12-31T23:59:59.999999
    s: '',
    u: '00000000-0000-0000-0000-000000000000',
    fx: new Uint8Array([255, 255, 255]),
    bin: new Uint8Array([]),
    st: null,
    ls: [],
    mp: new Map(),
    dec9: -1n,
    dec18: 0n,
    lst: [],
  },
  {
    b: null,
    i: 0,
    l: null,
    f: Number.NaN,
    d: Number.POSITIVE_INFINITY,
    dec: 12345678901234567890123456789n,
    dt: 0,
    t: null,
    ts: null,
    tstz: null,
    s: null,
    u: null,
    fx: null,
    bin: null,
    st: { x: null, y: '中文' },
    ls: null,
    mp: null,
    dec9: null,
    dec18: null,
    lst: null,
  },
];

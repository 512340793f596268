import { PassThrough, Writable } from 'node:stream';
import { icebergRowsToArrow, type Schema } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { encode, pipeResult } from '../../src/query/encode.ts';

const schema: Schema = {
  type: 'struct',
  schemaId: 0,
  fields: [
    { id: 1, name: 'id', required: true, type: 'long' },
    { id: 2, name: 'amount', required: false, type: 'decimal(20, 2)' },
    { id: 3, name: 'ts', required: false, type: 'timestamptz' },
    { id: 4, name: 'd', required: false, type: 'date' },
    { id: 5, name: 'bin', required: false, type: 'binary' },
    { id: 6, name: 'x', required: false, type: 'double' },
    {
      id: 7,
      name: 'user',
      required: false,
      type: { type: 'struct', fields: [{ id: 8, name: 'tier', required: false, type: 'string' }] },
    },
    {
      id: 9,
      name: 'tags',
      required: false,
      type: { type: 'list', elementId: 10, element: 'string', elementRequired: false },
    },
    {
      id: 11,
      name: 'm',
      required: false,
      type: {
        type: 'map',
        keyId: 12,
        key: 'string',
        valueId: 13,
        value: 'long',
        valueRequired: false,
      },
    },
  ],
};

const rows = [
  {
    id: 9007199254740993n,
    amount: -1250n,
    ts: 1_700_000_000_123_456n,
    d: 19_000,
    bin: new Uint8Array([0, 255, 1]),
    x: Number.NaN,
    user: { tier: 'a,"b"\nc' },
    tags: ['t1', null],
    m: new Map([['k', 5n]]),
  },
  { id: -1n, amount: null, ts: null, d: null, bin: null, x: 0.5, user: null, tags: null, m: null },
];

const batches = () => icebergRowsToArrow(schema, rows).batches;
async function* iter(bs: arrow.RecordBatch[]) {
  yield* bs;
}
const collect = async (g: AsyncIterable<string>) => {
  let s = '';
  for await (const c of g) s += c;
  return s;
};

describe('encoders', () => {
  const t = icebergRowsToArrow(schema, rows);
  it('json and ndjson render every type exactly', async () => {
    const line1 =
      '{"id":9007199254740993,"amount":"-12.50","ts":"2023-11-14T22:13:20.123456Z","d":"2022-01-08","bin":"AP8B","x":"NaN","user":{"tier":"a,\\"b\\"\\nc"},"tags":["t1",null],"m":{"k":5}}';
    const line2 =
      '{"id":-1,"amount":null,"ts":null,"d":null,"bin":null,"x":0.5,"user":null,"tags":null,"m":null}';
    expect(await collect(encode('json', t.schema, iter(batches())))).toBe(
      `[\n${line1},\n${line2}\n]\n`,
    );
    expect(await collect(encode('ndjson', t.schema, iter(batches())))).toBe(`${line1}\n${line2}\n`);
    expect(await collect(encode('json', t.schema, iter([])))).toBe('[]\n');
  });

  it('csv quotes per RFC 4180, nested values as JSON', async () => {
    expect(await collect(encode('csv', t.schema, iter(batches())))).toBe(
      'id,amount,ts,d,bin,x,user,tags,m\r\n' +
        '9007199254740993,-12.50,2023-11-14T22:13:20.123456Z,2022-01-08,AP8B,NaN,"{""tier"":""a,\\""b\\""\\nc""}","[""t1"",null]","{""k"":5}"\r\n' +
        '-1,,,,,0.5,,,\r\n',
    );
  });

  it('table aligns columns and escapes control characters', async () => {
    const small = icebergRowsToArrow(
      {
        type: 'struct',
        schemaId: 0,
        fields: [
          schema.fields[0] as never,
          { id: 8, name: 'tier', required: false, type: 'string' },
        ],
      },
      [
        { id: 1n, tier: 'a\nb' },
        { id: 22n, tier: null },
      ],
    );
    expect(await collect(encode('table', small.schema, iter(small.batches)))).toBe(
      'id | tier\n---+-----\n1  | a\\nb\n22 | null\n(2 rows)\n',
    );
  });

  it('the Arrow stream reads back with apache-arrow, an empty result too', async () => {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(c, _e, cb) {
        chunks.push(c);
        cb();
      },
    });
    await pipeResult('arrow', t.schema, iter(batches()), sink);
    const back = arrow.tableFromIPC(Buffer.concat(chunks));
    expect(back.numRows).toBe(2);
    expect(back.getChild('id')?.toArray()).toEqual(new BigInt64Array([9007199254740993n, -1n]));
    const empty: Buffer[] = [];
    await pipeResult(
      'arrow',
      t.schema,
      iter([]),
      new Writable({
        write(c, _e, cb) {
          empty.push(c);
          cb();
        },
      }),
    );
    const e = arrow.tableFromIPC(Buffer.concat(empty));
    expect(e.numRows).toBe(0);
    expect(e.schema.fields.map((f) => f.name)).toEqual(t.schema.fields.map((f) => f.name));
  });

  it('waits for drain, and a destination closed early stops the iteration (return())', async () => {
    let produced = 0;
    let returned = false;
    const one = t.batches[0] as arrow.RecordBatch;
    const source: AsyncIterable<arrow.RecordBatch> = {
      [Symbol.asyncIterator]() {
        return {
          async next() {
            produced++;
            return { done: false, value: one };
          },
          async return() {
            returned = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    const out = new PassThrough({ highWaterMark: 16 }); // nobody reads: writes return false
    const p = pipeResult('ndjson', t.schema, source, out);
    await new Promise((r) => setTimeout(r, 50));
    const before = produced;
    expect(before).toBeLessThan(1000); // bounded by backpressure, not run away
    out.destroy();
    await expect(p).rejects.toThrow();
    expect(returned).toBe(true);
  });
});

describe('timestamps and dates at the edges', () => {
  it('render before 1970, past 9999 and past the Date range', async () => {
    const s: Schema = {
      type: 'struct',
      schemaId: 0,
      fields: [
        { id: 1, name: 't', required: false, type: 'timestamp' },
        { id: 2, name: 'd', required: false, type: 'date' },
      ],
    };
    const t = icebergRowsToArrow(s, [
      { t: -1n, d: -1 },
      { t: 253402300800000000n, d: 2932897 },
      { t: 9_000_000_000_000_000_000n, d: 200_000_000 },
    ]);
    expect(await collect(encode('ndjson', t.schema, iter(t.batches)))).toBe(
      '{"t":"1969-12-31T23:59:59.999999","d":"1969-12-31"}\n' +
        '{"t":"+010000-01-01T00:00:00.000000","d":"+010000-01-01"}\n' +
        '{"t":"9000000000000000000","d":"200000000"}\n',
    );
  });
});

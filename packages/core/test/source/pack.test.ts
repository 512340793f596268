import { beforeEach, describe, expect, it } from 'vitest';
import { batchValue, packBatch, type RawMessage } from '../../src/source/pack.ts';

const at = { topic: 't', partition: 2, nextOffset: 0n, epoch: 7 };

function makeMessages(backing: Buffer): RawMessage[] {
  return [
    {
      offset: '10',
      value: backing.subarray(2, 7),
      key: Buffer.from('k1'),
      timestamp: '1700000000123',
    },
    { offset: '11', value: null, key: null, timestamp: '1700000000124' },
    { offset: '12', value: Buffer.alloc(0), key: Buffer.from(''), timestamp: '1700000000125' },
    {
      offset: '13',
      value: backing.subarray(11, 16),
      timestamp: '1700000000126',
      headers: {
        a: Buffer.from('ü'),
        b: 'plain',
        c: [Buffer.from('x'), 'y'],
        d: undefined,
        raw: Buffer.from([0xff, 0x00, 0xfe]),
        none: null,
      },
    },
  ];
}

describe('packBatch', () => {
  let backing = Buffer.alloc(0);
  let messages: RawMessage[] = [];
  beforeEach(() => {
    backing = Buffer.from('..hello....world..');
    messages = makeMessages(backing);
  });

  it('copies values contiguously into a fresh buffer with offsets and nulls', () => {
    const b = packBatch(messages, at);
    expect(b.bytes).toEqual(new Uint8Array(Buffer.from('helloworld')));
    expect(b.bytes.buffer).not.toBe(backing.buffer);
    // Shared memory, so the decode workers read the values without another copy.
    expect(b.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.bytes.buffer.byteLength).toBe(10);
    expect([...b.offsets]).toEqual([0, 5, 5, 5, 10]);
    expect([...b.nulls]).toEqual([0, 1, 0, 0]);
    expect([...b.recordOffsets]).toEqual([10n, 11n, 12n, 13n]);
    expect([...b.timestamps]).toEqual([1700000000123, 1700000000124, 1700000000125, 1700000000126]);
    expect(b).toMatchObject({
      topic: 't',
      partition: 2,
      firstOffset: 10n,
      lastOffset: 13n,
      nextOffset: 14n,
      count: 4,
      epoch: 7,
    });
    expect(b.keys).toBeUndefined();
    expect(b.headers).toBeUndefined();
    backing.fill(0);
    expect(Buffer.from(b.bytes).toString()).toBe('helloworld');
  });

  it('reads values back with batchValue', () => {
    const b = packBatch(messages, at);
    expect(batchValue(b, 0)).toEqual(new Uint8Array(Buffer.from('hello')));
    expect(batchValue(b, 1)).toBeNull();
    expect(batchValue(b, 2)).toEqual(new Uint8Array(0));
    expect(batchValue(b, 3)).toEqual(new Uint8Array(Buffer.from('world')));
  });

  it('keeps a higher next offset (markers after the last record)', () => {
    expect(packBatch(messages, { ...at, nextOffset: 20n }).nextOffset).toBe(20n);
  });

  it('packs keys and headers when asked', () => {
    const b = packBatch(messages, { ...at, keepKeys: true, keepHeaders: true });
    expect(b.keys?.bytes).toEqual(new Uint8Array(Buffer.from('k1')));
    expect([...(b.keys?.offsets ?? [])]).toEqual([0, 2, 2, 2, 2]);
    expect([...(b.keys?.nulls ?? [])]).toEqual([0, 1, 0, 1]);
    const bytes = (s: string) => new Uint8Array(Buffer.from(s));
    // Exact bytes (not UTF-8 text), every value of a repeated name, in order.
    expect(b.headers).toEqual([
      [],
      [],
      [],
      [
        { key: 'a', value: bytes('ü') },
        { key: 'b', value: bytes('plain') },
        { key: 'c', value: bytes('x') },
        { key: 'c', value: bytes('y') },
        { key: 'raw', value: new Uint8Array([0xff, 0x00, 0xfe]) },
        { key: 'none', value: null },
      ],
    ]);
    // Copies (a Buffer's slice would be a view): the client's fetch buffer can be released.
    const raw = messages[3]?.headers?.raw as Buffer;
    raw[0] = 0;
    expect(b.headers?.[3]?.[4]?.value).toEqual(new Uint8Array([0xff, 0x00, 0xfe]));
  });

  it('refuses an empty batch', () => {
    expect(() => packBatch([], at)).toThrow('packBatch: empty batch');
  });
});

describe('packBatch timestamp types', () => {
  const msg = (offset: string, type?: number): RawMessage => ({
    offset,
    value: Buffer.from('{}'),
    timestamp: '5',
    ...(type === undefined ? {} : { batchContext: { timestampType: type } }),
  });

  it('marks records of LogAppendTime record batches, per record', () => {
    const b = packBatch([msg('0', 0), msg('1', 1), msg('2')], at);
    expect(Array.from(b.timestampTypes ?? [])).toEqual([0, 1, 0]);
  });

  it('leaves them out when every record has CreateTime', () => {
    expect(packBatch([msg('0', 0), msg('1')], at).timestampTypes).toBeUndefined();
  });
});

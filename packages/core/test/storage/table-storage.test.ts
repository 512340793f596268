import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/index.ts';
import { tableStorage } from '../../src/storage/table-storage.ts';

const base = validateConfig({
  kafka: { brokers: ['127.0.0.1:9092'], groupId: 'g' },
  catalog: { type: 'rest', uri: 'http://127.0.0.1:1' },
  storage: {
    s3: {
      endpoint: 'http://static:1',
      region: 'eu-west-1',
      accessKeyId: 'S',
      secretAccessKey: 's',
    },
  },
  tables: [{ topic: 't', table: 'ns.t' }],
  deadLetter: { topic: 'dlq' },
}).storage;

describe('tableStorage', () => {
  it('keeps the storage config when the table has no FileIO properties', () => {
    expect(tableStorage(base, undefined)).toBe(base);
    expect(tableStorage(base, { 'write.format.default': 'parquet' })).toBe(base);
  });

  it('lays s3.* and client.region over the static settings', () => {
    const s = tableStorage(base, {
      's3.endpoint': 'http://vended:2',
      'client.region': 'us-east-2',
      's3.path-style-access': 'true',
      's3.access-key-id': 'V',
      's3.secret-access-key': 'v',
      's3.session-token': 'tok',
    });
    expect(s.s3).toEqual({
      ...base.s3,
      endpoint: 'http://vended:2',
      region: 'us-east-2',
      forcePathStyle: true,
      accessKeyId: 'V',
      secretAccessKey: 'v',
      sessionToken: 'tok',
    });
    expect(base.s3.endpoint).toBe('http://static:1');
  });

  it('prefers s3.region over client.region; a key without its secret is ignored', () => {
    const s = tableStorage(base, {
      's3.region': 'ap-south-1',
      'client.region': 'us-east-2',
      's3.access-key-id': 'V',
    });
    expect(s.s3.region).toBe('ap-south-1');
    expect([s.s3.accessKeyId, s.s3.secretAccessKey]).toEqual(['S', 's']);
  });

  it('drops a static session token when vended keys come without one', () => {
    const withToken = { ...base, s3: { ...base.s3, sessionToken: 'old' } };
    const s = tableStorage(withToken, { 's3.access-key-id': 'V', 's3.secret-access-key': 'v' });
    expect(s.s3.sessionToken).toBeUndefined();
  });
});

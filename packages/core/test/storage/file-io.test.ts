import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/index.ts';
import { cachedFileIOs, MAX_CACHED_FILE_IOS, sharedFileIO } from '../../src/storage/file-io.ts';
import { tableStorage } from '../../src/storage/table-storage.ts';

const base = validateConfig({
  kafka: { brokers: ['127.0.0.1:9092'], groupId: 'g' },
  catalog: { type: 'rest', uri: 'http://127.0.0.1:1' },
  storage: { s3: { endpoint: 'http://static:1', region: 'eu-west-1' } },
  tables: [{ topic: 't', table: 'ns.t' }],
  deadLetter: { topic: 'dlq' },
}).storage;

/** The storage of a table whose catalog vended the n-th set of credentials. */
const vended = (n: number) =>
  tableStorage(base, {
    's3.access-key-id': `AK${n}`,
    's3.secret-access-key': `SK${n}`,
    's3.session-token': `T${n}`,
  });

describe('sharedFileIO', () => {
  it('keeps one FileIO per storage config', () => {
    expect(sharedFileIO(vended(0))).toBe(sharedFileIO(vended(0)));
    expect(sharedFileIO(vended(0))).not.toBe(sharedFileIO(vended(1)));
  });

  it('keeps at most MAX_CACHED_FILE_IOS while credentials rotate, dropping the least recently used', () => {
    const hot = sharedFileIO(vended(-1));
    for (let n = 0; n < MAX_CACHED_FILE_IOS * 3; n++) {
      sharedFileIO(vended(n));
      expect(sharedFileIO(vended(-1))).toBe(hot); // used all along: never dropped
    }
    expect(cachedFileIOs()).toBe(MAX_CACHED_FILE_IOS);
    const first = sharedFileIO(vended(0)); // long unused: dropped, so built again
    expect(first).toBe(sharedFileIO(vended(0)));
    expect(cachedFileIOs()).toBe(MAX_CACHED_FILE_IOS);
  });
});

import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from '../../src/spec/json.ts';
import {
  refFromJson,
  refToJson,
  snapshotFromJson,
  snapshotToJson,
} from '../../src/spec/snapshot.ts';

describe('snapshot JSON', () => {
  it('reads big ids exactly and writes Java key order', () => {
    const text =
      '{"snapshot-id":3055729675574597004,"parent-snapshot-id":3051729675574597004,"timestamp-ms":1555100955770,"sequence-number":1,"summary":{"added-data-files":"1","operation":"append"},"manifest-list":"s3://a/b/2.avro","schema-id":1}';
    const s = snapshotFromJson(parseJson(text));
    expect(s).toEqual({
      snapshotId: 3055729675574597004n,
      parentSnapshotId: 3051729675574597004n,
      sequenceNumber: 1,
      timestampMs: 1555100955770,
      manifestList: 's3://a/b/2.avro',
      summary: { operation: 'append', 'added-data-files': '1' },
      schemaId: 1,
    });
    expect(stringifyJson(snapshotToJson(s))).toBe(
      '{"sequence-number":1,"snapshot-id":3055729675574597004,"parent-snapshot-id":3051729675574597004,"timestamp-ms":1555100955770,"summary":{"operation":"append","added-data-files":"1"},"manifest-list":"s3://a/b/2.avro","schema-id":1}',
    );
  });

  it('omits absent parent and schema id, defaults sequence-number to 0', () => {
    const s = snapshotFromJson({
      'snapshot-id': 1,
      'timestamp-ms': 5,
      summary: { operation: 'append', 'total-records': 10 },
      'manifest-list': 'm.avro',
    });
    expect(s).toEqual({
      snapshotId: 1n,
      sequenceNumber: 0,
      timestampMs: 5,
      manifestList: 'm.avro',
      summary: { operation: 'append', 'total-records': '10' },
    });
    expect(snapshotToJson(s)).toEqual({
      'sequence-number': 0,
      'snapshot-id': 1n,
      'timestamp-ms': 5,
      summary: { operation: 'append', 'total-records': '10' },
      'manifest-list': 'm.avro',
    });
  });

  it('names the missing or bad key', () => {
    const base = { 'snapshot-id': 1, 'timestamp-ms': 5, 'manifest-list': 'm' };
    expect(() => snapshotFromJson(base, 'snapshots[0].')).toThrow('snapshots[0].summary: missing');
    expect(() => snapshotFromJson({ ...base, summary: {} }, 'snapshots[0].')).toThrow(
      'snapshots[0].summary.operation: missing',
    );
    expect(() => snapshotFromJson({ ...base, summary: { operation: 'merge' } })).toThrow(
      'summary.operation: unknown operation "merge"',
    );
    expect(() =>
      snapshotFromJson({ 'snapshot-id': 1, 'timestamp-ms': 5, summary: { operation: 'append' } }),
    ).toThrow('manifest-list: missing');
    expect(() =>
      snapshotFromJson({ ...base, 'snapshot-id': 'x', summary: { operation: 'append' } }),
    ).toThrow('snapshot-id: expected an integer');
  });
});

describe('ref JSON', () => {
  it('round-trips with optional fields', () => {
    const json = {
      'snapshot-id': 3055729675574597004n,
      type: 'tag',
      'max-ref-age-ms': 604800000,
    };
    const r = refFromJson(json);
    expect(r).toEqual({ snapshotId: 3055729675574597004n, type: 'tag', maxRefAgeMs: 604800000 });
    expect(refToJson(r)).toEqual(json);
    expect(refToJson({ snapshotId: 1n, type: 'branch' })).toEqual({
      'snapshot-id': 1n,
      type: 'branch',
    });
  });
  it('rejects an unknown type', () => {
    expect(() => refFromJson({ 'snapshot-id': 1, type: 'leaf' }, 'refs.main.')).toThrow(
      'refs.main.type: expected branch or tag',
    );
  });
});

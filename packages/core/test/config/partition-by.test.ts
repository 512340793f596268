import { describe, expect, it } from 'vitest';
import { parsePartitionBy } from '../../src/config/partition-by.ts';

describe('parsePartitionBy', () => {
  it('parses every transform and names fields as Java does', () => {
    expect(parsePartitionBy('region')).toEqual({
      column: 'region',
      transform: 'identity',
      name: 'region',
    });
    expect(parsePartitionBy('identity(geo.country)')).toEqual({
      column: 'geo.country',
      transform: 'identity',
      name: 'geo_country',
    });
    expect(parsePartitionBy('day(ts)')).toEqual({ column: 'ts', transform: 'day', name: 'ts_day' });
    expect(parsePartitionBy('hour( ts )')).toEqual({
      column: 'ts',
      transform: 'hour',
      name: 'ts_hour',
    });
    expect(parsePartitionBy('bucket(16, user_id)')).toEqual({
      column: 'user_id',
      transform: 'bucket[16]',
      name: 'user_id_bucket',
    });
    expect(parsePartitionBy('truncate(4,name)')).toEqual({
      column: 'name',
      transform: 'truncate[4]',
      name: 'name_trunc',
    });
  });

  it('explains what is accepted', () => {
    expect(parsePartitionBy('bucket(0, id)')).toBe(
      '"bucket(0, id)": bucket needs a positive bucket count',
    );
    expect(parsePartitionBy('week(ts)')).toMatch(
      /^"week\(ts\)" is not a partition transform: use column, identity\(c\)/,
    );
  });
});

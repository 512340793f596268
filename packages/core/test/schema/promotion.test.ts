import { schemaFromJson } from '@kice/iceberg';
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { conformToSchema } from '../../src/schema/conform.ts';
import { evolveSchema } from '../../src/schema/evolve.ts';

const table = (type: string) =>
  schemaFromJson({
    type: 'struct',
    'schema-id': 0,
    fields: [{ id: 1, name: 'x', required: false, type }],
  });

describe('long and double observations', () => {
  it('keeps a double column when integers are observed', () => {
    const r = evolveSchema(table('double'), table('long'), 1);
    expect(r.changed).toBe(false);
    expect(r.schema.fields[0]?.type).toBe('double');
  });

  it('refuses long → double for a committed column, allows it before the first commit', () => {
    expect(() => evolveSchema(table('long'), table('double'), 1)).toThrow(
      'field "x": cannot change long to double',
    );
    const r = evolveSchema(table('long'), table('double'), 1, { allowLongToDouble: true });
    expect(r.changed).toBe(true);
    expect(r.schema.fields[0]?.type).toBe('double');
  });

  it('casts an integer batch into a double column exactly', () => {
    const batch = arrow.tableFromArrays({ x: new BigInt64Array([1n, -7n, 9007199254740991n]) });
    const out = conformToSchema(batch, table('double'));
    expect(out.schema.fields[0]?.type.toString()).toBe('Float64');
    const values = out.getChild('x')?.toArray() as Float64Array;
    expect([...values]).toEqual([1, -7, 9007199254740991]);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

const yaml = (
  table: string,
  registry = 'schemaRegistry: { url: "http://127.0.0.1:19081/apis/ccompat/v7" }',
) => `
kafka: { brokers: [127.0.0.1:19092], groupId: g }
catalog: { type: filesystem, warehouse: ./wh }
${registry}
tables: [${table}]
deadLetter: { topic: dlq }
`;

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('format: json-schema config', () => {
  it('takes metadata and key columns', () => {
    const c = parseConfig(
      yaml('{ topic: t, table: a.b, format: json-schema, metadata: {}, key: { format: json } }'),
    );
    expect(c.tables[0]).toMatchObject({
      format: 'json-schema',
      metadata: { column: '_kafka' },
      key: { format: 'json', column: '_key' },
    });
  });

  it('needs schemaRegistry, and refuses column types (the JSON Schema sets them)', () => {
    expect(
      problemsOf(() =>
        parseConfig(
          yaml('{ topic: t, table: a.b, format: json-schema, columns: { ts: timestamptz } }', ''),
        ),
      ),
    ).toEqual([
      'tables[0].columns.ts: the JSON Schema sets the column types of a format json-schema table',
      'tables[0].format: format json-schema needs the top-level schemaRegistry setting',
    ]);
  });
});

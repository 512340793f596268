import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

const yaml = (table: string): string => `
kafka: { brokers: [127.0.0.1:19092], groupId: g }
catalog: { type: filesystem, warehouse: ./wh }
tables: [${table}]
deadLetter: { topic: dlq }
`;

function problemsOf(text: string): readonly string[] {
  try {
    parseConfig(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('format: raw config', () => {
  it('needs no schemaRegistry and takes metadata, a key and valueColumn', () => {
    const c = parseConfig(
      yaml(
        '{ topic: t, table: a.b, format: raw, valueColumn: payload, metadata: {}, key: { format: json }, columns: { _key.id: long } }',
      ),
    );
    expect(c.tables[0]).toMatchObject({
      format: 'raw',
      valueColumn: 'payload',
      metadata: { column: '_kafka' },
      key: { format: 'json', column: '_key' },
    });
  });

  it('names every bad setting', () => {
    expect(
      problemsOf(
        yaml(
          '{ topic: t, table: a.b, format: raw, metadata: { column: value }, key: { format: string, column: value }, columns: { x: long } }, { topic: u, table: a.c, valueColumn: v }',
        ),
      ),
    ).toEqual([
      'tables[0].metadata.column: the metadata column cannot have the value column\'s name "value"',
      'tables[0].key.column: the key column cannot have the value column\'s name "value"',
      'tables[0].columns.x: format raw has one binary value column; columns can only type fields of a json key',
      'tables[0].key.column: the key column cannot have the metadata column\'s name "value"',
      "tables[1].valueColumn: valueColumn is only for format raw (this table's format is json)",
    ]);
  });
});

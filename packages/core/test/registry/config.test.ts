// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${env:NAME} references under test
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { redactConfig } from '../../src/config/secrets.ts';

const yaml = (registry: string): string => `
kafka: { brokers: [127.0.0.1:19092], groupId: g }
catalog: { type: filesystem, warehouse: ./wh }
tables: [{ topic: orders, table: shop.orders }]
deadLetter: { topic: dlq }
${registry}
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

describe('schemaRegistry config', () => {
  it('parses url, basicAuth from the environment and headers; redacts the secrets', () => {
    const c = parseConfig(
      yaml(
        'schemaRegistry:\n  url: http://127.0.0.1:19081/apis/ccompat/v7\n  basicAuth: { username: u, password: "${env:KICE_T_SR_PW}" }\n  headers: { X-Api-Key: key-value-1 }',
      ),
      { env: { KICE_T_SR_PW: 'sr-password-1' } },
    );
    expect(c.schemaRegistry).toEqual({
      url: 'http://127.0.0.1:19081/apis/ccompat/v7',
      basicAuth: { username: 'u', password: 'sr-password-1' },
      headers: { 'X-Api-Key': 'key-value-1' },
      requestTimeoutMs: 10_000,
      unknownIdRetryMs: 30_000,
    });
    const printed = JSON.stringify(redactConfig(c));
    expect(printed).not.toContain('sr-password-1');
    expect(printed).not.toContain('key-value-1');
    const bearer = parseConfig(
      yaml('schemaRegistry: { url: "https://r:8081", bearerToken: tok-sr-123 }'),
    );
    expect(JSON.stringify(redactConfig(bearer))).not.toContain('tok-sr-123');
  });

  it('takes metadata and key columns on an avro table', () => {
    const text = `
kafka: { brokers: [127.0.0.1:19092], groupId: g }
catalog: { type: filesystem, warehouse: ./wh }
schemaRegistry: { url: "http://127.0.0.1:19081/apis/ccompat/v7" }
tables: [{ topic: orders, table: shop.orders, format: avro, metadata: {}, key: { format: string } }]
deadLetter: { topic: dlq }
`;
    const t = parseConfig(text).tables[0];
    expect(t?.metadata).toEqual({ column: '_kafka' });
    expect(t?.key).toEqual({ format: 'string', column: '_key' });
  });

  it('format protobuf needs schemaRegistry, and takes metadata and key columns like avro', () => {
    const base = `
kafka: { brokers: [127.0.0.1:19092], groupId: g }
catalog: { type: filesystem, warehouse: ./wh }
deadLetter: { topic: dlq }
`;
    const t = parseConfig(
      `${base}schemaRegistry: { url: "http://r:8081" }\ntables: [{ topic: t, table: a.b, format: protobuf, metadata: {}, key: { format: string } }]\n`,
    ).tables[0];
    expect(t?.format).toBe('protobuf');
    expect(t?.metadata).toEqual({ column: '_kafka' });
    expect(t?.key).toEqual({ format: 'string', column: '_key' });
    expect(
      problemsOf(() =>
        parseConfig(`${base}tables: [{ topic: t, table: a.b, format: protobuf }]\n`),
      ),
    ).toEqual(['tables[0].format: format protobuf needs the top-level schemaRegistry setting']);
  });

  it('names the field of a bad setting', () => {
    expect(problemsOf(() => parseConfig(yaml('schemaRegistry: { url: "ftp://x" }')))).toEqual([
      'schemaRegistry.url: expected an http(s) URL',
    ]);
    expect(
      problemsOf(() =>
        parseConfig(
          yaml(
            'schemaRegistry: { url: "http://x", bearerToken: abcd, basicAuth: { username: u, password: p } }',
          ),
        ),
      ),
    ).toEqual(['schemaRegistry.bearerToken: set basicAuth or bearerToken, not both']);
  });
});

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are ${env:NAME} references under test
/**
 * `${env:NAME}` substitution, `kafka.ssl` / `kafka.sasl` validation and secret redaction
 * in config errors, logs and printed configs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { substituteEnv } from '../../src/config/env.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { redact, redactConfig, registerSecrets } from '../../src/config/secrets.ts';
import { tlsOptions } from '../../src/config/tls.ts';
import { createLoggerOptions } from '../../src/engine.ts';
import { logCreator } from '../../src/source/client.ts';

const yaml = (kafkaExtra: string): string => `
kafka:
  brokers: [127.0.0.1:19092]
  groupId: g
${kafkaExtra}
catalog: { type: filesystem, warehouse: ./wh }
tables: [{ topic: orders, table: shop.orders }]
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

/** A throwaway PEM file (content does not need to be a valid certificate for loading). */
function pemDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kice-tls-'));
  writeFileSync(
    join(dir, 'ca.pem'),
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  );
  writeFileSync(join(dir, 'notpem.txt'), 'hello\n');
  return dir;
}

describe('${env:NAME}', () => {
  it('substitutes inside strings at any depth, keeps $${env:X} literal, reports unset variables by path', () => {
    const r = substituteEnv(
      { a: 'x-${env:A}-y', b: [{ c: '${env:B}' }], d: '$${env:A}', n: 5, k: { '${env:A}': 1 } },
      { A: 'alpha', B: 'beta' },
    );
    expect(r.doc).toEqual({
      a: 'x-alpha-y',
      b: [{ c: 'beta' }],
      d: '${env:A}',
      n: 5,
      k: { '${env:A}': 1 },
    });
    expect(r.problems).toEqual([]);
    expect(r.secrets).toEqual(['alpha', 'beta']);

    const bad = substituteEnv(
      { kafka: { sasl: { password: '${env:NOPE}' } }, t: ['${env:1x}'] },
      {},
    );
    expect(bad.problems).toEqual([
      'kafka.sasl.password: environment variable NOPE is not set',
      't[0]: "${env:1x}" is not a valid variable name',
    ]);
  });

  it('a missing variable fails parseConfig with the path and the variable name', () => {
    const text = yaml(
      '  sasl: { mechanism: scram-sha-512, username: u, password: "${env:KICE_T_PW}" }',
    );
    expect(problemsOf(() => parseConfig(text, { env: {} }))).toEqual([
      'kafka.sasl.password: environment variable KICE_T_PW is not set',
    ]);
    const c = parseConfig(text, { env: { KICE_T_PW: 'from-the-env-1' } });
    expect(c.kafka.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'u',
      password: 'from-the-env-1',
    });
  });

  it('a value from the environment never appears in a config error, whatever its key', () => {
    const text = yaml('').replace(
      'groupId: g',
      'groupId: g\n  autoOffsetReset: "${env:KICE_T_RESET}"',
    );
    const p = problemsOf(() => parseConfig(text, { env: { KICE_T_RESET: 'sekrit-reset-value' } }));
    expect(p).toEqual([
      'kafka.autoOffsetReset: must be one of "earliest", "latest", got "[redacted]"',
    ]);
  });
});

describe('kafka.ssl and kafka.sasl', () => {
  it('ssl: true means system trust; an object resolves files relative to the config folder', () => {
    expect(parseConfig(yaml('  ssl: true')).kafka.ssl).toBe(true);
    expect(tlsOptions(parseConfig(yaml('  ssl: true')).kafka.ssl)).toBe(true);
    const dir = pemDir();
    const c = parseConfig(yaml('  ssl: { ca: ./ca.pem, servername: localhost }'), { baseDir: dir });
    expect(c.kafka.ssl).toEqual({
      ca: join(dir, 'ca.pem'),
      rejectUnauthorized: true,
      servername: 'localhost',
    });
    expect(tlsOptions(c.kafka.ssl)).toEqual({
      ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      rejectUnauthorized: true,
      servername: 'localhost',
    });
    const inline = parseConfig(
      yaml('  ssl: { ca: "-----BEGIN CERTIFICATE-----\\nX\\n-----END CERTIFICATE-----" }'),
    );
    expect(tlsOptions(inline.kafka.ssl)).toMatchObject({
      ca: '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----',
    });
  });

  it('names the setting and the file when a TLS file is missing or not PEM, and pairs cert with key', () => {
    const dir = pemDir();
    expect(
      problemsOf(() => parseConfig(yaml('  ssl: { ca: ./missing.pem }'), { baseDir: dir })),
    ).toEqual([`kafka.ssl.ca: cannot read file ${join(dir, 'missing.pem')} (ENOENT)`]);
    expect(
      problemsOf(() => parseConfig(yaml('  ssl: { ca: notpem.txt }'), { baseDir: dir })),
    ).toEqual([`kafka.ssl.ca: file ${join(dir, 'notpem.txt')} is not PEM (no "-----BEGIN" line)`]);
    expect(
      problemsOf(() => parseConfig(yaml('  ssl: { cert: ./ca.pem }'), { baseDir: dir })),
    ).toEqual(['kafka.ssl.key: required with kafka.ssl.cert']);
    expect(problemsOf(() => parseConfig(yaml('  ssl: { cafile: x }')))).toContain(
      'kafka.ssl.cafile: unknown setting',
    );
  });

  it('sasl needs a known mechanism and never echoes the password', () => {
    const p = problemsOf(() =>
      parseConfig(yaml('  sasl: { mechanism: gssapi, username: u, password: hunter2-literal }')),
    );
    expect(p).toEqual([
      'kafka.sasl.mechanism: must be one of "plain", "scram-sha-256", "scram-sha-512", got "gssapi"',
    ]);
    expect(
      problemsOf(() => parseConfig(yaml('  sasl: { mechanism: plain, username: u }'))),
    ).toEqual(['kafka.sasl.password: required']);
  });
});

describe('redaction', () => {
  it('redacts registered secrets in text, including their JSON-escaped form', () => {
    registerSecrets(['p"w\\d-1234', 'ab']);
    expect(redact('x p"w\\d-1234 y')).toBe('x [redacted] y');
    expect(redact(JSON.stringify({ m: 'p"w\\d-1234' }))).toBe('{"m":"[redacted]"}');
    // Too short to be redacted in free text (by key only).
    expect(redact('ab cd')).toBe('ab cd');
  });

  it('redactConfig replaces secret keys and env-derived text', () => {
    const c = parseConfig(
      yaml(
        '  clientId: "c-${env:KICE_T_CID}"\n  sasl: { mechanism: plain, username: u, password: literal-pw-9 }',
      ),
      { env: { KICE_T_CID: 'cid-from-env' } },
    );
    const printed = JSON.stringify(redactConfig(c));
    expect(printed).not.toContain('literal-pw-9');
    expect(printed).not.toContain('cid-from-env');
    expect(printed).toContain('"password":"[redacted]"');
    expect(printed).toContain('"clientId":"c-[redacted]"');
  });

  it('treats the REST catalog credential, token and every header value as secrets', () => {
    const base = yaml('');
    const c = parseConfig(
      base.replace(
        'catalog: { type: filesystem, warehouse: ./wh }',
        'catalog: { type: rest, uri: "http://127.0.0.1:1", credential: "id:cred-secret-1", headers: { X-Api-Key: hdr-secret-2 } }',
      ),
    );
    const printed = JSON.stringify(redactConfig(c));
    expect(printed).not.toContain('cred-secret-1');
    expect(printed).not.toContain('hdr-secret-2');
    expect(printed).toContain('"X-Api-Key":"[redacted]"');
    expect(redact('failed with id:cred-secret-1 and hdr-secret-2')).toBe(
      'failed with [redacted] and [redacted]',
    );
    const t = parseConfig(
      base.replace(
        'catalog: { type: filesystem, warehouse: ./wh }',
        'catalog: { type: rest, uri: "http://127.0.0.1:1", token: tok-secret-3 }',
      ),
    );
    expect(JSON.stringify(redactConfig(t))).not.toContain('tok-secret-3');
    expect(redact('Bearer tok-secret-3')).toBe('Bearer [redacted]');
  });

  it("kice's logger and the kafkajs log route never write a secret", () => {
    const c = parseConfig(
      yaml('  sasl: { mechanism: scram-sha-512, username: u, password: "${env:KICE_T_LOGPW}" }'),
      { env: { KICE_T_LOGPW: 'log-secret-42' } },
    );
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    // kice's default logger options, writing to a captured stream.
    const log = pino(createLoggerOptions('debug'), sink);
    log.info({ config: c }, 'config');
    log.error({ err: new Error('auth failed for log-secret-42') }, 'boom log-secret-42');
    expect(lines.length).toBe(2);
    for (const l of lines) expect(l).not.toContain('log-secret-42');
    expect(lines.join('')).toContain('[redacted]');
  });

  it('the kafkajs log route redacts before any logger sees the entry', () => {
    registerSecrets(['kafkajs-secret-77']);
    const seen: unknown[] = [];
    const record = (obj: unknown, msg?: string): void => {
      seen.push([obj, msg]);
    };
    const logger = { error: record, warn: record, info: record, debug: record };
    logCreator(logger)(1)({
      namespace: 'Connection',
      level: 1,
      label: 'ERROR',
      log: {
        timestamp: 'now',
        logger: 'kafkajs',
        message: 'failed kafkajs-secret-77',
        sasl: { mechanism: 'plain', password: 'kafkajs-secret-77' },
      },
    });
    expect(seen).toEqual([
      [
        {
          kafkajs: 'Connection',
          timestamp: 'now',
          logger: 'kafkajs',
          sasl: { mechanism: 'plain', password: '[redacted]' },
        },
        'failed [redacted]',
      ],
    ]);
  });
});

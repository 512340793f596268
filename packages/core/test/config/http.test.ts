import { describe, expect, it } from 'vitest';
import { isLoopback, parseListen } from '../../src/config/http-listen.ts';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { redactConfig } from '../../src/config/secrets.ts';

const BASE = `
kafka:
  brokers: [127.0.0.1:19092]
  groupId: kice-test
catalog:
  type: filesystem
  warehouse: ./wh
tables:
  - topic: orders
    table: shop.orders
deadLetter:
  topic: kice-dlq
`;

function problems(http: string): readonly string[] {
  try {
    parseConfig(`${BASE}http:\n${http}`, { baseDir: '/base' });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('http config', () => {
  it('is off unless set; defaults allowRemote to false', () => {
    expect(parseConfig(BASE, { baseDir: '/base' }).http).toBeUndefined();
    const c = parseConfig(`${BASE}http:\n  listen: 127.0.0.1:9464\n`, { baseDir: '/base' });
    expect(c.http).toEqual({ listen: '127.0.0.1:9464', allowRemote: false });
    // A port alone (a YAML number too) is loopback: no allowRemote needed.
    const bare = parseConfig(`${BASE}http:\n  listen: 9464\n`, { baseDir: '/base' });
    expect(bare.http?.listen).toBe('9464');
  });

  it('refuses a non-loopback address without allowRemote, naming http.listen', () => {
    expect(problems('  listen: 0.0.0.0:9464\n')).toEqual([
      'http.listen: "0.0.0.0" is not a loopback address: set http.allowRemote: true to listen on it (and consider http.bearerToken)',
    ]);
    expect(problems('  listen: "[::]:9464"\n')).toHaveLength(1);
    const c = parseConfig(
      `${BASE}http:\n  listen: 0.0.0.0:9464\n  allowRemote: true\n  bearerToken: abcdefghijklmnopqrstuvwxyz\n`,
      { baseDir: '/base' },
    );
    expect(c.http?.allowRemote).toBe(true);
  });

  it('names every bad setting by its path, at once', () => {
    expect(
      problems('  listen: nonsense\n  bearerToken: short\n  allowRemote: "yes"\n  port: 1\n'),
    ).toEqual([
      'http.allowRemote: Invalid input: expected boolean, received string',
      'http.bearerToken: must be at least 16 characters',
      'http.port: unknown setting',
    ]);
    expect(problems('  listen: nonsense\n')).toEqual([
      'http.listen: expected host:port (e.g. 127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464)',
    ]);
    expect(problems('  listen: 127.0.0.1:70000\n')).toEqual([
      'http.listen: port 70000 is out of range (0 to 65535)',
    ]);
    expect(problems('  allowRemote: true\n')).toEqual(['http.listen: required']);
  });

  it('redacts the bearer token like other secrets', () => {
    const c = parseConfig(
      `${BASE}http:\n  listen: 127.0.0.1:0\n  bearerToken: abcdefghijklmnopqrstuvwxyz\n`,
      { baseDir: '/base' },
    );
    expect(redactConfig(c).http?.bearerToken).toBe('[redacted]');
  });
});

describe('listen addresses', () => {
  it('parses host:port and [v6]:port', () => {
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListen(':9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseListen('[nope]:1')).toBe('"nope" is not an IPv6 address');
    expect(parseListen('::1:9464')).toMatch(/^expected host:port/);
  });

  it('knows loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '::ffff:127.0.0.1'])
      expect([h, isLoopback(h)]).toEqual([h, true]);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1'])
      expect([h, isLoopback(h)]).toEqual([h, false]);
  });
});

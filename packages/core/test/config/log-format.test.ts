/**
 * `log.format` (createLogger in src/engine.ts): JSON or pino-pretty lines, `auto` by
 * whether the destination is a terminal, secrets redacted in both. The destination is a
 * FAKE stream that records the lines and claims to be a terminal or not.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { registerSecrets } from '../../src/config/secrets.ts';
import { createLogger, logFormat } from '../../src/engine.ts';

const config = (log: string) =>
  parseConfig(`
kafka: { brokers: [127.0.0.1:19092], groupId: g }
catalog: { type: filesystem, warehouse: ./wh }
tables: [{ topic: orders, table: shop.orders }]
deadLetter: { topic: dlq }
log: ${log}
`);

/** A fake destination stream: collects what is written. */
function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(w, { isTTY, text: () => chunks.join('') });
}

const flush = () => new Promise((r) => setImmediate(r));

describe('log.format', () => {
  it('defaults to auto: pretty on a terminal, JSON otherwise; explicit values win', () => {
    expect(config('{}').log).toEqual({ level: 'info', format: 'auto', statusIntervalMs: 30_000 });
    expect(logFormat('auto', { isTTY: true })).toBe('pretty');
    expect(logFormat('auto', {})).toBe('json');
    expect(logFormat('json', { isTTY: true })).toBe('json');
    expect(logFormat('pretty', {})).toBe('pretty');
  });

  it('names a bad value', () => {
    expect(() => config('{ format: xml }')).toThrow(/log\.format/);
  });

  it('json writes pino JSON lines, also to a terminal', async () => {
    const out = sink(true);
    createLogger(config('{ format: json }'), { destination: out }).info({ rows: 3 }, 'committed');
    await flush();
    const line = JSON.parse(out.text().trim());
    expect(line).toMatchObject({ level: 30, msg: 'committed', rows: 3, app: 'kice' });
  });

  it('pretty writes one readable line, colored only on a terminal, secrets redacted', async () => {
    registerSecrets(['pretty-secret-9']);
    const plain = sink(false);
    createLogger(config('{ format: pretty }'), { destination: plain }).warn(
      { rows: 3 },
      'commit failed for pretty-secret-9',
    );
    const colored = sink(true);
    createLogger(config('{ format: auto }'), { destination: colored }).info({}, 'committed');
    await flush();
    expect(plain.text()).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: commit failed for \[redacted\] \{"rows":3\}\n$/,
    );
    expect(colored.text()).toContain('\x1b[');
    expect(colored.text()).toContain('committed');
  });
});

/**
 * The HTTP server's handling of a client that leaves in the middle of a response larger
 * than every socket buffer between them (so the server is certainly still writing when the
 * client goes). No real engine answers with tens of megabytes, so the engine here is a
 * FAKE that serves a large /metrics body; the routes over a real engine are tested in
 * test/integration/http-endpoint.integration.test.ts.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.ts';
import type { Engine } from '../../src/engine.ts';
import { startHttpServer } from '../../src/http/server.ts';

/** Largest receive + send buffers the kernel may give a TCP socket, plus 1 MiB. */
function beyondSocketBuffers(): number {
  const max = (f: string) => Number(readFileSync(f, 'utf8').trim().split(/\s+/)[2]);
  return max('/proc/sys/net/ipv4/tcp_rmem') + max('/proc/sys/net/ipv4/tcp_wmem') + 2 ** 20;
}

function fakeEngine(body: string, calls: { prometheus: number }): Engine {
  return {
    status: () => ({ ready: true, reasons: [] }),
    prometheus: async () => {
      calls.prometheus++;
      return { contentType: 'text/plain; version=0.0.4; charset=utf-8', text: body };
    },
    tables: () => [],
    lag: async () => [],
  } as unknown as Engine;
}

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

describe('http server', () => {
  it('survives a client that leaves mid-response and serves the next one', async () => {
    const size = beyondSocketBuffers();
    const body = `# ${'x'.repeat(size)}\n`;
    const calls = { prometheus: 0 };
    const warnings: unknown[] = [];
    const server = await startHttpServer(
      fakeEngine(body, calls),
      { listen: '127.0.0.1:0', allowRemote: false },
      { ...quiet, warn: (o: unknown) => warnings.push(o) },
    );
    try {
      const received = await new Promise<number>((resolve, reject) => {
        const s = connect(server.port, server.host, () =>
          s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'),
        );
        let got = 0;
        s.on('data', (b: Buffer) => {
          got += b.byteLength;
          if (got >= 1024 * 1024) {
            s.destroy();
            resolve(got);
          }
        });
        s.on('error', reject);
      });
      expect(received).toBeLessThan(size);
      // The next client gets a whole answer.
      const r = await fetch(`${server.url}/metrics`);
      expect(r.status).toBe(200);
      expect((await r.text()).length).toBe(body.length);
      expect(calls.prometheus).toBe(2);
      expect(warnings).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a port already taken fails like a bad setting, naming http.listen', async () => {
    const first = await startHttpServer(
      fakeEngine('', { prometheus: 0 }),
      { listen: '127.0.0.1:0', allowRemote: false },
      quiet,
    );
    try {
      const second = startHttpServer(
        fakeEngine('', { prometheus: 0 }),
        { listen: `127.0.0.1:${first.port}`, allowRemote: false },
        quiet,
      );
      await expect(second).rejects.toBeInstanceOf(ConfigError);
      await expect(second).rejects.toMatchObject({
        problems: [`http.listen: cannot listen on 127.0.0.1:${first.port}: EADDRINUSE`],
      });
    } finally {
      await first.close();
    }
  });
});

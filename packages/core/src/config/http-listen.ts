/**
 * `http.listen`: where the operations endpoint listens, as `host:port` (`[v6]:port` for
 * an IPv6 address), or a port alone (`9464`, `:9464`) for 127.0.0.1. Loopback hosts (127.0.0.0/8, ::1, localhost) are the safe default;
 * any other needs `http.allowRemote: true` (docs/config.md#http).
 */
import { isIP } from 'node:net';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** The parsed address, or the problem as text. */
export function parseListen(v: string): ListenAddress | string {
  // A port alone (`9464`, `:9464`) is loopback.
  const bare = /^:?(\d{1,5})$/.exec(v);
  if (bare) return parseListen(`127.0.0.1:${bare[1]}`);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(v);
  if (!m) return 'expected host:port (e.g. 127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464)';
  const host = (m[1] ?? m[2]) as string;
  const port = Number(m[3]);
  if (port > 65_535) return `port ${port} is out of range (0 to 65535)`;
  if (m[1] !== undefined && isIP(host) !== 6) return `"${host}" is not an IPv6 address`;
  return { host, port };
}

/** Whether only this machine can reach `host`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && (mapped[1] as string).startsWith('127.');
}

/**
 * `kafka.ssl` → the TLS options kafkajs hands to Node's `tls.connect`
 * (https://nodejs.org/api/tls.html#tlsconnectoptions-callback). `true` uses Node's
 * built-in CA store; an object may add `ca` (replaces the built-in store), `cert` + `key`
 * (a client certificate), `passphrase` (of the key), `rejectUnauthorized` (default true)
 * and `servername` (SNI and the name the certificate is checked against; default the
 * broker's host). `ca`, `cert` and `key` are inline PEM (text containing "-----BEGIN") or
 * a file path, relative to the config file's folder; validateConfig resolves the paths
 * and checks each file reads as PEM, so a bad path is a config error naming the setting:
 * `kafka.ssl.ca: cannot read file /etc/kice/ca.pem (ENOENT)`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { KiceConfig } from './schema.ts';

type SslSetting = KiceConfig['kafka']['ssl'];
const PEM_FIELDS = ['ca', 'cert', 'key'] as const;

const isInlinePem = (v: string): boolean => v.includes('-----BEGIN');

/**
 * Resolves relative `ca`/`cert`/`key` paths against `baseDir` in place (on the parsed,
 * not yet frozen config) and returns one problem per file that cannot be read or is not
 * PEM.
 */
export function resolveSslFiles(ssl: SslSetting, baseDir: string): string[] {
  if (typeof ssl !== 'object') return [];
  const problems: string[] = [];
  const t = ssl as Record<(typeof PEM_FIELDS)[number], string | undefined>;
  for (const field of PEM_FIELDS) {
    const v = t[field];
    if (v === undefined || isInlinePem(v)) continue;
    const path = isAbsolute(v) ? v : resolve(baseDir, v);
    t[field] = path;
    const problem = checkPemFile(path);
    if (problem) problems.push(`kafka.ssl.${field}: ${problem}`);
  }
  return problems;
}

function checkPemFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return `cannot read file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  return isInlinePem(text) ? undefined : `file ${path} is not PEM (no "-----BEGIN" line)`;
}

function pem(v: string): string {
  return isInlinePem(v) ? v : readFileSync(v, 'utf8');
}

/** The kafkajs `ssl` option for a validated config (files read now). */
export function tlsOptions(ssl: SslSetting): boolean | ConnectionOptions {
  if (typeof ssl === 'boolean') return ssl;
  const out: ConnectionOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
  if (ssl.ca !== undefined) out.ca = pem(ssl.ca);
  if (ssl.cert !== undefined) out.cert = pem(ssl.cert);
  if (ssl.key !== undefined) out.key = pem(ssl.key);
  if (ssl.passphrase !== undefined) out.passphrase = ssl.passphrase;
  if (ssl.servername !== undefined) out.servername = ssl.servername;
  return out;
}

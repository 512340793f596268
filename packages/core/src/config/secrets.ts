/**
 * Secrets never reach a log line or an error message. What counts as a secret:
 * - the value of a setting whose key names one: password, secret, token, credential(s),
 *   passphrase, secretAccessKey, sessionToken (case-insensitive, also as a suffix:
 *   `apiToken`), and inline PEM private keys;
 * - every value of a `headers` map (the REST catalog's extra HTTP headers, which
 *   typically carry credentials);
 * - every value substituted from the environment (`${env:NAME}`, config/env.ts), whatever
 *   its key.
 *
 * Loading a config registers its secrets process-wide (`registerSecrets`); `redact(text)`
 * replaces each registered secret (as is, and as it appears inside JSON) with
 * `[redacted]`. kice's pino logger runs every line through it, kafkajs's log entries too
 * (source/client.ts), config errors and the CLI's error output as well. Secrets shorter
 * than MIN_SECRET_LENGTH are only redacted by key (replacing every "ab" in a log line
 * would make the logs unreadable and protect little). `redactConfig` is the config with
 * secret settings replaced, for printing.
 */

/** Secret values shorter than this are redacted by key only, not in free text. */
export const MIN_SECRET_LENGTH = 4;

export const REDACTED = '[redacted]';

const SECRET_KEY = /(password|secret|token|credentials?|passphrase|secretaccesskey)$/i;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** Whether a setting with this key holds a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function isSecretValue(key: string, value: unknown): value is string {
  return typeof value === 'string' && (isSecretKey(key) || PRIVATE_KEY.test(value));
}

/** Settings whose values are all secrets, whatever their keys (`catalog.headers`). */
const SECRET_MAPS = new Set(['headers']);

function secretMapValues(key: string, value: unknown): string[] | undefined {
  if (!SECRET_MAPS.has(key) || value === null || typeof value !== 'object') return undefined;
  return Object.values(value).filter((x): x is string => typeof x === 'string');
}

/** The secret values in a config object (by key, see above). */
export function collectSecrets(config: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const map = secretMapValues(k, x);
        if (map) out.push(...map);
        else if (isSecretValue(k, x)) out.push(x);
        else walk(x);
      }
    }
  };
  walk(config);
  return out;
}

const known = new Set<string>();
/** Longest first, so that a secret containing another is replaced whole. */
let patterns: string[] = [];

/** Adds secrets to the process-wide set that `redact` removes. */
export function registerSecrets(values: Iterable<string>): void {
  let added = false;
  for (const v of values) {
    if (v.length < MIN_SECRET_LENGTH || known.has(v)) continue;
    known.add(v);
    added = true;
  }
  if (!added) return;
  const forms = new Set<string>();
  for (const v of known) {
    forms.add(v);
    // Inside a JSON string (a pino line): quotes, backslashes, control characters escaped.
    forms.add(JSON.stringify(v).slice(1, -1));
  }
  patterns = [...forms].sort((a, b) => b.length - a.length);
}

/** `text` with every registered secret (and `extra` ones) replaced by `[redacted]`. */
export function redact(text: string, extra: readonly string[] = []): string {
  let out = text;
  for (const p of extra) if (p.length >= MIN_SECRET_LENGTH) out = out.split(p).join(REDACTED);
  for (const p of patterns) if (out.includes(p)) out = out.split(p).join(REDACTED);
  return out;
}

/** Whether any registered secret occurs in `text`. */
export function containsSecret(text: string): boolean {
  return patterns.some((p) => text.includes(p));
}

/** A copy of a config object with secret settings replaced and secret text redacted. */
export function redactConfig<T>(config: T): T {
  const walk = (v: unknown, key: string): unknown => {
    if (isSecretValue(key, v)) return REDACTED;
    if (secretMapValues(key, v))
      return Object.fromEntries(Object.keys(v as object).map((k) => [k, REDACTED]));
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, ''));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
      return out;
    }
    return v;
  };
  return walk(config, '') as T;
}

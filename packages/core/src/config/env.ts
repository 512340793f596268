/**
 * `${env:NAME}` in the configuration: every string value of the parsed YAML document may
 * reference environment variables, `password: ${env:KAFKA_PASSWORD}` or
 * `brokers: ["${env:KAFKA_HOST}:9093"]`. `$${env:NAME}` stands for the literal text
 * `${env:NAME}`. Substitution happens on parsed values, never on the YAML text, so a value
 * cannot change the document's structure; the result is always a string (a number setting
 * cannot come from the environment). Mapping keys are not substituted.
 *
 * A variable that is not set is a problem naming the YAML path and the variable. Every
 * substituted value is returned as a secret: it is redacted wherever kice prints or logs
 * (config/secrets.ts), whether or not its key looks secret. Documented in docs/config.md.
 */
import { formatPath } from './path.ts';

const REFERENCE = /\$?\$\{env:([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Substituted {
  /** The document with every reference replaced (a copy; the input is not changed). */
  readonly doc: unknown;
  /** One line per unset variable or malformed reference, by path. */
  readonly problems: string[];
  /** The values taken from the environment (non-empty ones), for redaction. */
  readonly secrets: string[];
}

/** Replaces `${env:NAME}` in every string of `doc` with `env[NAME]`. */
export function substituteEnv(
  doc: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Substituted {
  const problems: string[] = [];
  const secrets: string[] = [];
  const walk = (v: unknown, path: PropertyKey[]): unknown => {
    if (typeof v === 'string') return v.includes('${') ? replace(v, path) : v;
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, [...path, k]);
      return out;
    }
    return v;
  };
  const replace = (s: string, path: PropertyKey[]): string =>
    s.replace(REFERENCE, (whole: string, name: string) => {
      if (whole.startsWith('$$')) return whole.slice(1);
      if (!NAME.test(name)) {
        problems.push(`${formatPath(path)}: "\${env:${name}}" is not a valid variable name`);
        return '';
      }
      const value = env[name];
      if (value === undefined) {
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      }
      if (value !== '') secrets.push(value);
      return value;
    });
  const out = walk(doc, []);
  return { doc: out, problems, secrets };
}

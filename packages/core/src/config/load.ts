/**
 * Loading and validating configuration: YAML text → `${env:NAME}` substituted
 * (config/env.ts) → validated (config/schema.ts) → TLS files resolved and checked
 * (config/tls.ts) → frozen KiceConfig, or a ConfigError listing every problem by path.
 * Secrets (config/secrets.ts) are registered before validation, so that no problem text
 * shows one.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { KiceError } from '../errors.ts';
import { substituteEnv } from './env.ts';
import { formatPath } from './path.ts';
import { configSchema, type KiceConfig } from './schema.ts';
import { collectSecrets, isSecretKey, redact, registerSecrets } from './secrets.ts';
import { resolveSslFiles } from './tls.ts';

export { formatPath };

export class ConfigError extends KiceError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], source?: string) {
    problems = problems.map((p) => redact(p));
    super(
      'CONFIG_INVALID',
      `invalid configuration${source ? ` in ${source}` : ''}:\n  - ${problems.join('\n  - ')}`,
      {
        context: { problems },
      },
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((k) => `${formatPath([...issue.path, k])}: unknown setting`)
      .join('\n  - ');
  }
  if (issue.code === 'invalid_value') {
    const key = issue.path.at(-1);
    const secret = typeof key === 'string' && isSecretKey(key);
    const got = issue.input === undefined || secret ? '' : `, got ${JSON.stringify(issue.input)}`;
    return `${formatPath(issue.path)}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}`;
  }
  if (issue.code === 'invalid_union' && issue.discriminator && 'options' in issue) {
    // No option of a discriminated union (catalog.type) matched.
    const input = issue.input as Record<string, unknown> | undefined;
    const got = input && typeof input === 'object' ? input[issue.discriminator] : undefined;
    if (got === undefined) return `${formatPath(issue.path)}: required`;
    const expected = (issue.options ?? []).map((v) => JSON.stringify(v)).join(', ');
    return `${formatPath(issue.path)}: must be one of ${expected}, got ${JSON.stringify(got)}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return `${formatPath(issue.path)}: required`;
  }
  return `${formatPath(issue.path)}: ${issue.message}`;
}

function freeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) freeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

/**
 * Validates a parsed config object. `baseDir` resolves a relative warehouse path and
 * relative `kafka.ssl` files.
 */
export function validateConfig(
  input: unknown,
  options: { baseDir?: string; source?: string } = {},
): KiceConfig {
  registerSecrets(collectSecrets(input));
  const result = configSchema.safeParse(input, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(result.error.issues.map(describe), options.source);
  }
  const cfg = result.data;
  const problems: string[] = [];
  const seen = new Map<string, number>();
  cfg.tables.forEach((t, i) => {
    if (t.topic !== undefined) {
      const prev = seen.get(t.topic);
      if (prev !== undefined)
        problems.push(
          `tables[${i}].topic: topic "${t.topic}" is already routed by tables[${prev}]`,
        );
      seen.set(t.topic, i);
    }
  });
  // Dead letters read back as input would fail again, and be dead-lettered again, forever.
  const dlq = cfg.deadLetter.topic;
  const dlqTable = cfg.deadLetter.table;
  cfg.tables.forEach((t, i) => {
    if (dlq !== undefined && t.topic === dlq)
      problems.push(`deadLetter.topic: "${dlq}" is also an input topic (tables[${i}].topic)`);
    if (dlq !== undefined && t.topicPattern !== undefined && new RegExp(t.topicPattern).test(dlq))
      problems.push(
        `deadLetter.topic: "${dlq}" matches tables[${i}].topicPattern "${t.topicPattern}"; dead letters would be consumed as input`,
      );
    // The dead-letter table has its own fixed schema: no topic's rows may go there.
    if (dlqTable !== undefined && t.table === dlqTable)
      problems.push(`deadLetter.table: "${dlqTable}" is also tables[${i}].table`);
  });
  problems.push(...resolveSslFiles(cfg.kafka.ssl, options.baseDir ?? process.cwd()));
  if (problems.length > 0) throw new ConfigError(problems, options.source);
  if (cfg.catalog.type === 'filesystem') {
    const warehouse = cfg.catalog.warehouse;
    if (!warehouse.includes('://') && !isAbsolute(warehouse)) {
      cfg.catalog.warehouse = resolve(options.baseDir ?? process.cwd(), warehouse);
    }
  }
  return freeze(cfg);
}

/** Parses YAML text, substitutes `${env:NAME}` from `options.env` (default process.env), validates. */
export function parseConfig(
  text: string,
  options: {
    baseDir?: string;
    source?: string;
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): KiceConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    // Only the first line: the rest quotes the YAML around the error, which may hold a secret.
    const first = (e as Error).message.split('\n', 1)[0]?.replace(/:$/, '');
    throw new ConfigError([`(yaml): ${first}`], options.source);
  }
  const substituted = substituteEnv(doc, options.env ?? process.env);
  registerSecrets(substituted.secrets);
  if (substituted.problems.length > 0) throw new ConfigError(substituted.problems, options.source);
  return validateConfig(substituted.doc, options);
}

/** Reads a YAML config file; a relative warehouse path is relative to the file's folder. */
export async function loadConfigFile(path: string): Promise<KiceConfig> {
  const text = await readFile(path, 'utf8');
  return parseConfig(text, { baseDir: dirname(resolve(path)), source: path });
}

/**
 * Prometheus text-format expositions parsed by the Prometheus project's Python client
 * (test/support/prom_parse.py, in the test venv: test/infra/requirements.txt), with
 * helpers to pick samples out of the result.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPython } from './readers.ts';

const PARSER = join(dirname(fileURLToPath(import.meta.url)), 'prom_parse.py');

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number | '+Inf' | null;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: readonly Sample[];
}

/** The exposition's metric families (rejects when the parser refuses the text). */
export async function parsePrometheus(text: string): Promise<Family[]> {
  const dir = await mkdtemp(join(tmpdir(), 'kice-prom-'));
  try {
    const file = join(dir, 'metrics.txt');
    await writeFile(file, text);
    return JSON.parse(await runPython([PARSER, file])) as Family[];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Samples named `name` whose labels include `labels`. */
export function samples(
  families: readonly Family[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Sample[] {
  return families.flatMap((f) =>
    f.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    ),
  );
}

/** The sum of the matching samples' values (0 when none match). */
export function total(
  families: readonly Family[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  return samples(families, name, labels).reduce((a, s) => a + Number(s.value ?? 0), 0);
}

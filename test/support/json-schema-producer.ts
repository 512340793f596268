/**
 * Confluent's own JSONSerializer (test/support/produce_json_schema.py) driven from tests:
 * produces JSON Schema framed records through the test registry, registers schemas to
 * reference, and produces raw bytes (bad input). See the script's docstring for the jobs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, venvPython } from './readers.ts';

export type JsonSchemaJob =
  | {
      readonly schema: unknown;
      readonly rows: readonly unknown[];
      readonly partition?: number;
      readonly references?: readonly { name: string; subject: string; version: number }[];
    }
  | { readonly register: unknown; readonly subject: string }
  | { readonly raw: string; readonly partition?: number };

/** One line per job: `{ids}` (rows' schema ids; null for raw) or `{id, version}` (register). */
export type JsonSchemaJobResult = { ids: number[] | null } | { id: number; version: number };

export async function produceJsonSchema(
  bootstrap: string,
  registry: string,
  topic: string,
  jobs: readonly JsonSchemaJob[],
): Promise<JsonSchemaJobResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kice-jsr-'));
  const file = join(dir, 'jobs.json');
  writeFileSync(file, JSON.stringify(jobs));
  const py = await venvPython();
  const script = join(REPO_ROOT, 'test/support/produce_json_schema.py');
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      py,
      [script, bootstrap, registry, topic, file],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`produce_json_schema.py failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonSchemaJobResult);
}

/** A Confluent frame around a JSON text (magic 0, big-endian id), as hex for a raw job. */
export function frameHex(id: number, json: string): string {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, Buffer.from(json, 'utf8')]).toString('hex');
}

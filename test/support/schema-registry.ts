/**
 * The test Schema Registry from test/infra/schema-registry.sh (Apicurio, Confluent API),
 * driven from tests, and Confluent's own Python serializer (test/support/produce_registry.py)
 * to produce framed records. `startRegistry()` is idempotent and resolves with the
 * Confluent-compatible base URL; the registry keeps running for later test files.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, venvPython } from './readers.ts';

export const REGISTRY_SH = join(REPO_ROOT, 'test/infra/schema-registry.sh');

function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** Starts (or reuses) the registry; resolves with e.g. `http://127.0.0.1:19081/apis/ccompat/v7`. */
export async function startRegistry(env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run('bash', [REGISTRY_SH, 'start'], env);
  if (r.code !== 0) throw new Error(`schema-registry.sh start exited with ${r.code}:\n${r.stderr}`);
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!/^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/.test(last)) {
    throw new Error(`schema-registry.sh start printed "${last}"`);
  }
  return last;
}

/** One produce job (produce_registry.py's docstring): rows under a schema, or raw bytes. */
export type RegistryJob =
  | { readonly schema: unknown; readonly rows: readonly unknown[]; readonly partition?: number }
  | {
      /** Hex bytes of the value; null: a tombstone. */
      readonly raw: string | null;
      readonly key?: string;
      readonly partition?: number;
    };

/** Produces the jobs in order with confluent-kafka's AvroSerializer; resolves with the schema id of every row. */
export async function produceAvro(
  bootstrap: string,
  registry: string,
  topic: string,
  jobs: readonly RegistryJob[],
): Promise<(number[] | null)[]> {
  return produceIds('produce_registry.py', bootstrap, registry, topic, jobs);
}

/** Registers a schema under a subject over the registry's REST API (test setup); resolves with its id. */
export async function registerSchema(
  registry: string,
  subject: string,
  schema: unknown,
): Promise<number> {
  return register(registry, subject, { schema: JSON.stringify(schema) });
}

/** Registers `.proto` text under a subject (test setup), with references; resolves with its id. */
export async function registerProto(
  registry: string,
  subject: string,
  text: string,
  references: readonly { name: string; subject: string; version: number }[] = [],
): Promise<number> {
  return register(registry, subject, { schema: text, schemaType: 'PROTOBUF', references });
}

/** POSTs one `/subjects/{subject}/versions` body; resolves with the id the registry gives. */
async function register(registry: string, subject: string, payload: object): Promise<number> {
  const res = await fetch(`${registry}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify(payload),
  });
  const body = (await res.json()) as { id?: number };
  if (!res.ok || typeof body.id !== 'number')
    throw new Error(`register ${subject}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.id;
}

/** One Protobuf produce job (produce_registry_protobuf.py's docstring). */
export type ProtobufJob =
  | {
      /** .proto files by name; the message's file and every file it imports. */
      readonly files: Readonly<Record<string, string>>;
      /** The full name of the message the rows are (e.g. `pkg.Event`). */
      readonly message: string;
      /** Rows in Protobuf's JSON mapping. */
      readonly rows: readonly unknown[];
      /** Merged into the serializer's config. */
      readonly conf?: Readonly<Record<string, unknown>>;
      readonly partition?: number;
    }
  | { readonly raw: string; readonly partition?: number };

/** Produces the jobs in order with confluent-kafka's ProtobufSerializer; resolves with the schema id of every row. */
export async function produceProtobuf(
  bootstrap: string,
  registry: string,
  topic: string,
  jobs: readonly ProtobufJob[],
): Promise<(number[] | null)[]> {
  return produceIds('produce_registry_protobuf.py', bootstrap, registry, topic, jobs);
}

/** Runs a test/support producer script on the jobs; resolves with each job's `ids` line. */
async function produceIds(
  script: string,
  bootstrap: string,
  registry: string,
  topic: string,
  jobs: readonly unknown[],
): Promise<(number[] | null)[]> {
  const dir = mkdtempSync(join(tmpdir(), 'kice-sr-'));
  const file = join(dir, 'jobs.json');
  writeFileSync(file, JSON.stringify(jobs));
  const py = await venvPython();
  const r = await run(py, [
    join(REPO_ROOT, 'test/support', script),
    bootstrap,
    registry,
    topic,
    file,
  ]);
  if (r.code !== 0) throw new Error(`${script} exited with ${r.code}:\n${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { ids: number[] | null }).ids);
}

/** Deletes a subject's version soft, then permanently (`?permanent=true`), so that its id answers 404. */
export async function deleteSchemaVersion(
  registry: string,
  subject: string,
  version: number,
): Promise<void> {
  const url = `${registry}/subjects/${encodeURIComponent(subject)}/versions/${version}`;
  for (const u of [url, `${url}?permanent=true`]) {
    const res = await fetch(u, { method: 'DELETE' });
    if (!res.ok) throw new Error(`DELETE ${u}: HTTP ${res.status} ${await res.text()}`);
  }
}

/**
 * Coordinator side of registry formats: before a batch goes to the worker pool, the schema
 * ids its records name are resolved through the process's registry client (one lookup per
 * id per process, registry/client.ts), and the schema texts travel with the decode task.
 * A registry that is down makes this wait (the client retries with backoff), so the
 * partition waits instead of dead-lettering good records; an id the registry does not
 * know (404) becomes the reason of its records' dead letters. Records that are not frames
 * are left to the worker, which reports them.
 *
 * References (a Protobuf schema's imports, `references: [{name, subject, version}]`) are
 * resolved recursively by subject and version (cached in the client) and sent flattened:
 * every schema the id needs, directly or through other references, once, by reference
 * name. A reference the registry does not know makes the id's records dead letters too.
 */
import {
  type RegistrySchema,
  type SchemaRegistryClient,
  UnknownReferenceError,
  UnknownSchemaError,
} from './client.ts';
import type { ResolvedSchema } from './formats.ts';

export interface ResolvedSchemas {
  readonly schemas: Record<number, ResolvedSchema>;
  readonly unknown: Record<number, string>;
}

export async function resolveBatchSchemas(
  client: SchemaRegistryClient,
  bytes: Uint8Array,
  offsets: Int32Array,
): Promise<ResolvedSchemas> {
  const ids = new Set<number>();
  for (let i = 0; i + 1 < offsets.length; i++) {
    const s = offsets[i] as number;
    if ((offsets[i + 1] as number) - s >= 5 && bytes[s] === 0) {
      ids.add(
        ((bytes[s + 1] as number) * 0x1000000 +
          (((bytes[s + 2] as number) << 16) |
            ((bytes[s + 3] as number) << 8) |
            (bytes[s + 4] as number))) >>>
          0,
      );
    }
  }
  const schemas: Record<number, ResolvedSchema> = {};
  const unknown: Record<number, string> = {};
  await Promise.all(
    [...ids].map(async (id) => {
      try {
        const s = await client.getSchema(id);
        schemas[id] = { schema: s.schema, references: await referencesOf(client, s) };
      } catch (e) {
        if (!(e instanceof UnknownSchemaError) && !(e instanceof UnknownReferenceError)) throw e;
        unknown[id] = e.message;
      }
    }),
  );
  return { schemas, unknown };
}

/** Every schema `s` references, directly or not, by reference name (depth-first, once). */
async function referencesOf(
  client: SchemaRegistryClient,
  s: RegistrySchema,
): Promise<{ name: string; schema: string }[]> {
  const out: { name: string; schema: string }[] = [];
  const seen = new Set<string>();
  const visit = async (refs: RegistrySchema['references']): Promise<void> => {
    for (const r of refs) {
      if (seen.has(r.name)) continue;
      seen.add(r.name);
      const dep = await client.getVersion(r.subject, r.version);
      await visit(dep.references);
      out.push({ name: r.name, schema: dep.schema });
    }
  };
  await visit(s.references);
  return out;
}

/**
 * Coordinator side of registry formats: before a batch goes to the worker pool, the schema
 * ids its records name are resolved through the process's registry client (one lookup per
 * id per process, registry/client.ts), and the schema texts travel with the decode task.
 * A registry that is down makes this wait (the client retries with backoff), so the
 * partition waits instead of dead-lettering good records; an id the registry does not
 * know (404) becomes the reason of its records' dead letters. Records that are not frames
 * are left to the worker, which reports them. The same goes for a batch's keys when the
 * table's key.format is a registry format (pipeline/decode-stage.ts resolves both).
 *
 * References (Protobuf imports, JSON Schema `$ref`s to other subjects) travel resolved
 * and flattened with the schema (registry/references.ts); a reference the registry does
 * not know makes the id's records dead letters too.
 */
import { type SchemaRegistryClient, UnknownSchemaError } from './client.ts';
import type { ResolvedSchema } from './formats.ts';
import { withReferences } from './references.ts';

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
        schemas[id] = await withReferences(client, await client.getSchema(id));
      } catch (e) {
        if (!(e instanceof UnknownSchemaError)) throw e;
        unknown[id] = e.message;
      }
    }),
  );
  return { schemas, unknown };
}

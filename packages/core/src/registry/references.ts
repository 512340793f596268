/**
 * A registry schema with the schemas it references, resolved (coordinator side, before
 * dispatch): each reference `{name, subject, version}` is fetched through the client
 * (`GET /subjects/{subject}/versions/{version}`, one lookup per subject version per
 * process), and so are the references of references, depth first. Every schema reached
 * is listed once, by the name it is referenced under (for JSON Schema: the `$ref` text,
 * e.g. `address.json`); a reference cycle is fine here (each subject version is fetched
 * once), the format's mapping decides whether the types it makes are recursive.
 *
 * References: https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#schema-references
 */
import type { RegistrySchema, SchemaRegistryClient } from './client.ts';
import type { ResolvedSchema } from './formats.ts';

export async function withReferences(
  client: SchemaRegistryClient,
  root: RegistrySchema,
): Promise<ResolvedSchema> {
  const out: { name: string; schema: string }[] = [];
  const names = new Set<string>();
  const visit = async (refs: RegistrySchema['references']): Promise<void> => {
    for (const r of refs) {
      if (names.has(r.name)) continue;
      names.add(r.name);
      const s = await client.getVersion(r.subject, r.version);
      out.push({ name: r.name, schema: s.schema });
      await visit(s.references);
    }
  };
  await visit(root.references);
  return { schema: root.schema, references: out };
}

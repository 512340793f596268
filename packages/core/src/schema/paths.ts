/**
 * Field paths as the decoder names them (decode/infer.ts): "a", "a.b" for struct fields,
 * "tags[]" for a list element, "m.value" for a map value.
 */
import type { IcebergType, StructType } from '@kice/iceberg';

function child(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

/** The paths of every field in a struct, nested ones included. */
export function columnPaths(schema: StructType): Set<string> {
  const out = new Set<string>();
  const walk = (t: IcebergType, path: string): void => {
    if (typeof t === 'string') return;
    if (t.type === 'struct') {
      for (const f of t.fields) {
        const p = child(path, f.name);
        out.add(p);
        walk(f.type, p);
      }
    } else if (t.type === 'list') walk(t.element, `${path}[]`);
    else walk(t.value, `${path}.value`);
  };
  walk(schema, '');
  return out;
}

/** `schema` without the struct fields at `paths` (nested ones too). */
export function withoutPaths<S extends StructType>(schema: S, paths: ReadonlySet<string>): S {
  const type = (t: IcebergType, path: string): IcebergType => {
    if (typeof t === 'string') return t;
    if (t.type === 'struct') return struct(t, path);
    if (t.type === 'list') return { ...t, element: type(t.element, `${path}[]`) };
    return { ...t, value: type(t.value, `${path}.value`) };
  };
  const struct = (t: StructType, path: string): StructType => ({
    ...t,
    fields: t.fields
      .filter((f) => !paths.has(child(path, f.name)))
      .map((f) => ({ ...f, type: type(f.type, child(path, f.name)) })),
  });
  return struct(schema, '') as S;
}

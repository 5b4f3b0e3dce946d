// Finds the JSON Schema that governs a place in a document (following $ref across the schema
// files), so messages can name the known fields and use the schema's own descriptions. Pure.
import { type ConfigKind, configKinds, schemas } from "../../schema/index.js";

export type SchemaObject = Record<string, unknown>;

export interface SchemaAt {
  schema: SchemaObject;
  /** Name of the shared definition reached through $ref, e.g. "Name", "Memory", "Env". */
  def?: string;
}

const files = schemas as unknown as Record<string, SchemaObject>;

/** The schema for `path` inside a document of `kind`, or undefined when the path leaves the schema. */
export function schemaAt(kind: ConfigKind, path: readonly (string | number)[]): SchemaAt | undefined {
  let base = `${kind.toLowerCase()}.schema.json`;
  let current: SchemaAt = { schema: configKinds[kind] as unknown as SchemaObject };
  for (const seg of path) {
    const resolved = resolve(current, base);
    base = resolved.base;
    const s = mappingBranch(resolved.schema, base);
    let next: unknown;
    if (typeof seg === "number") {
      next = s.items;
    } else {
      const props = s.properties as Record<string, unknown> | undefined;
      next =
        props?.[seg] ?? (typeof s.additionalProperties === "object" ? s.additionalProperties : undefined);
    }
    if (typeof next !== "object" || next === null) return undefined;
    current = { schema: next as SchemaObject };
  }
  const { schema, def } = resolve(current, base);
  const chosen = mappingBranch(schema, base);
  return def === undefined ? { schema: chosen } : { schema: chosen, def };
}

/**
 * A choice of a plain value or a mapping (an App env value: a string or {secret}) is governed,
 * inside the mapping, by the mapping branch; any other schema is itself.
 */
function mappingBranch(s: SchemaObject, base: string): SchemaObject {
  if (!Array.isArray(s.anyOf)) return s;
  const branch = (s.anyOf as SchemaObject[]).find((b) => b.$ref !== undefined || b.type === "object");
  return branch ? resolve({ schema: branch }, base).schema : s;
}

function resolve(at: SchemaAt, base: string): SchemaAt & { base: string } {
  let schema = at.schema;
  let def = at.def;
  let file = base;
  // Follow $ref chains; a sibling description (e.g. "Unique among apps.") stays the closer one.
  for (let hops = 0; typeof schema.$ref === "string" && hops < 10; hops++) {
    const [refFile, pointer = ""] = (schema.$ref as string).split("#");
    if (refFile) file = refFile;
    let target: unknown = files[file];
    for (const part of pointer.split("/").filter(Boolean)) {
      target = (target as SchemaObject | undefined)?.[part];
    }
    if (typeof target !== "object" || target === null) break;
    const m = /\/\$defs\/([^/]+)$/.exec(pointer);
    if (m) def = m[1];
    const description = schema.description;
    schema = { ...(target as SchemaObject) };
    if (description !== undefined) schema.description = description;
  }
  return { schema, def, base: file };
}

/** The field names a mapping schema allows (its `properties`). */
export function knownFields(at: SchemaAt | undefined): string[] {
  const props = at?.schema.properties as Record<string, unknown> | undefined;
  return props ? Object.keys(props) : [];
}

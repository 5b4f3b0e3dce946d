// Field-level differences between two versions of a spec or workload, as dotted paths
// (image, env.LOG_LEVEL, placement.labels.zone), with the values of secret-looking env keys
// masked. Arrays are compared whole: "command changed" says more than "command.2 changed". Pure.
import type { FieldChange } from "../../schema/index.js";
import { canonicalJson } from "../canonical-json.js";

export const SENSITIVE = "(sensitive)";
const secretKey = /(SECRET|TOKEN|PASSWORD|KEY)/i;

/** True for `env.NAME` (at any depth, e.g. defaults.env.NAME) when NAME looks secret. */
export function isSensitiveField(field: string): boolean {
  const m = /(?:^|\.)env\.([^.]+)$/.exec(field);
  return m !== null && secretKey.test(m[1]!);
}

/** Leaf values of `value` by dotted path, skipping the top-level keys in `skip`. */
export function flatten(value: object, skip: readonly string[] = []): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, path: string) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, child] of Object.entries(v)) {
        if (child !== undefined) walk(child, path === "" ? k : `${path}.${k}`);
      }
    } else {
      out.set(path, v);
    }
  };
  for (const [k, v] of Object.entries(value)) if (!skip.includes(k) && v !== undefined) walk(v, k);
  return out;
}

/** A FieldChange with masking applied; omit `before`/`after` for a field that is new/removed. */
export function fieldChange(
  field: string,
  before: { value: unknown } | null,
  after: { value: unknown } | null,
): FieldChange {
  const mask = isSensitiveField(field);
  const out: FieldChange = { field };
  // The generated type says object because the schema leaves these untyped; any JSON value is allowed.
  if (before) out.before = (mask ? SENSITIVE : before.value) as FieldChange["before"];
  if (after) out.after = (mask ? SENSITIVE : after.value) as FieldChange["after"];
  return out;
}

/** Every field whose value differs, sorted by path. */
export function diffFields(
  before: object | null,
  after: object | null,
  skip: readonly string[] = [],
): FieldChange[] {
  const a = before ? flatten(before, skip) : new Map<string, unknown>();
  const b = after ? flatten(after, skip) : new Map<string, unknown>();
  const fields = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: FieldChange[] = [];
  for (const field of fields) {
    const has = a.has(field);
    const will = b.has(field);
    if (has && will && canonicalJson(a.get(field)) === canonicalJson(b.get(field))) continue;
    out.push(fieldChange(field, has ? { value: a.get(field) } : null, will ? { value: b.get(field) } : null));
  }
  return out;
}

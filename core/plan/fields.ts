// Field-level differences between two versions of a spec or workload, as dotted paths
// (image, env.LOG_LEVEL, placement.labels.zone), with the values of secret-looking env keys
// masked. Arrays are compared whole: "command changed" says more than "command.2 changed". Pure.
import type { FieldChange, JsonValue } from "../../schema/index.js";
import { canonicalJson } from "../canonical-json.js";
import { maskValue } from "../secrets/mask.js";

export const SENSITIVE = "(sensitive)";
const secretKey = /(SECRET|TOKEN|PASSWORD|KEY)/i;

/** True when an env variable's name looks like it holds a secret (its value is never shown). */
export const isSecretEnvName = (name: string): boolean => secretKey.test(name);

/** True for `env.NAME` (at any depth, e.g. defaults.env.NAME) when NAME looks secret. */
export function isSensitiveField(field: string): boolean {
  const m = /(?:^|\.)env\.([^.]+)$/.exec(field);
  return m !== null && isSecretEnvName(m[1]!);
}

/**
 * Leaf values of `value` by dotted path, skipping the top-level keys in `skip`. Values that are
 * not JSON (undefined, functions) are skipped, as JSON.stringify skips them.
 */
export function flatten(value: object, skip: readonly string[] = []): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  const walk = (v: unknown, path: string) => {
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
      out.set(path, v);
    } else if (Array.isArray(v)) {
      out.set(path, v);
    } else if (typeof v === "object") {
      for (const [k, child] of Object.entries(v)) {
        if (child !== undefined) walk(child, path === "" ? k : `${path}.${k}`);
      }
    }
  };
  for (const [k, v] of Object.entries(value)) if (!skip.includes(k) && v !== undefined) walk(v, k);
  return out;
}

/**
 * A FieldChange with masking applied — values of secret-looking env keys, and credentials inside
 * URLs anywhere — omitting `before`/`after` for a field that is new/removed.
 */
export function fieldChange(
  field: string,
  before: { value: JsonValue } | null,
  after: { value: JsonValue } | null,
): FieldChange {
  const mask = isSensitiveField(field);
  const out: FieldChange = { field };
  if (before) out.before = mask ? SENSITIVE : maskValue(before.value);
  if (after) out.after = mask ? SENSITIVE : maskValue(after.value);
  return out;
}

/** Every field whose value differs, sorted by path. */
export function diffFields(
  before: object | null,
  after: object | null,
  skip: readonly string[] = [],
): FieldChange[] {
  const a = before ? flatten(before, skip) : new Map<string, JsonValue>();
  const b = after ? flatten(after, skip) : new Map<string, JsonValue>();
  const fields = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: FieldChange[] = [];
  for (const field of fields) {
    // Leaves are never undefined, so undefined means absent on that side.
    const was = a.get(field);
    const will = b.get(field);
    if (was !== undefined && will !== undefined && canonicalJson(was) === canonicalJson(will)) continue;
    out.push(
      fieldChange(
        field,
        was !== undefined ? { value: was } : null,
        will !== undefined ? { value: will } : null,
      ),
    );
  }
  return out;
}

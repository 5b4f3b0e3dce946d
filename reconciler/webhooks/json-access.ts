// Small readers for untrusted JSON payloads: each returns undefined instead of throwing when the
// value is missing or has another type, so payload parsers stay flat. No I/O.

export type Json = unknown;

export function obj(value: Json): Record<string, Json> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, Json>)
    : undefined;
}

export function arr(value: Json): Json[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

export function str(value: Json): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function int(value: Json): number | undefined {
  return typeof value === "number" && Number.isInteger(value) ? value : undefined;
}

/** Follows a path of object keys: at(p, "a", "b") is p?.a?.b for untyped JSON. */
export function at(value: Json, ...keys: string[]): Json {
  let cur: Json = value;
  for (const key of keys) {
    const o = obj(cur);
    if (!o) return undefined;
    cur = o[key];
  }
  return cur;
}

/** `refs/heads/x` → `x`; undefined for tags and other refs. */
export function branchOfRef(ref: string | undefined): string | undefined {
  return ref?.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : undefined;
}

/** A deleted branch is reported with an all-zero "after" commit. */
export function isZeroSha(sha: string | undefined): boolean {
  return sha !== undefined && /^0+$/.test(sha);
}

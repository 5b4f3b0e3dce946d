// Canonical JSON (RFC 8785 rules) and the SHA-256 digests berth puts on desired documents.
// Pure: node:crypto is only used for hashing, never for I/O. Does not accept values JSON cannot
// represent (NaN, Infinity, functions, bigint): those throw, since a hash over them would lie.
import * as crypto from "node:crypto";

/**
 * Serialises `value` with object keys sorted by UTF-16 code units, no whitespace, and numbers
 * and strings as ECMAScript writes them (which is what RFC 8785 prescribes). `undefined`
 * properties are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      // JSON.stringify(-0) is "0" and otherwise uses Number#toString: RFC 8785's number form.
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) return arrayJson(value);
      return objectJson(value as Record<string, unknown>);
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

// Built with Array#join, which yields a flat string: `+=` would build a deep rope that every
// later join or hash of it has to walk again.
function arrayJson(items: unknown[]): string {
  const out = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    // JSON.stringify writes null for holes and undefined inside arrays; do the same.
    out[i] = item === undefined ? "null" : canonicalJson(item);
  }
  return `[${out.join(",")}]`;
}

function objectJson(obj: Record<string, unknown>): string {
  const keys = sortedKeys(obj);
  const out: string[] = [];
  for (const key of keys) {
    const v = obj[key];
    if (v !== undefined) out.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${out.join(",")}}`;
}

/**
 * The keys of `obj` in UTF-16 code-unit order, as RFC 8785 §3.2.3 requires (and as Array#sort
 * without a comparator orders strings). Small objects, nearly all of them, are sorted in place by
 * insertion: Array#sort allocates a work area per call, about 1 KB, which was 39 of the 245 MB a
 * cold build of 20,000 workloads allocates.
 */
export function sortedKeys(obj: object): string[] {
  return sortStrings(Object.keys(obj));
}

/** Sorts `list` in place by UTF-16 code units, as Array#sort does, without its work area for short lists. */
export function sortStrings(list: string[]): string[] {
  if (list.length > 16) return list.sort();
  for (let i = 1; i < list.length; i++) {
    const k = list[i] as string;
    let j = i - 1;
    while (j >= 0 && (list[j] as string) > k) {
      list[j + 1] = list[j] as string;
      j--;
    }
    list[j + 1] = k;
  }
  return list;
}

// crypto.hash (Node >= 20.12) hashes a string without a Hash object: twice as fast for the
// thousands of small workload hashes of a cold build.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;

/** Lowercase hex SHA-256 of the UTF-8 bytes of `s`. */
export function sha256Hex(s: string): string {
  return oneShot ? oneShot("sha256", s, "hex") : crypto.createHash("sha256").update(s, "utf8").digest("hex");
}

/** `sha256:<hex>` of the canonical JSON of `value`: the form of every hash in desired documents. */
export function hashOf(value: unknown): string {
  return `sha256:${sha256Hex(canonicalJson(value))}`;
}

const keys = new WeakMap<object, string>();

/**
 * A cheap cache key for an object, memoised by identity: its JSON.stringify (native and fast).
 * Equal keys mean equal values; equal values written in another key order get different keys,
 * so use it only to skip work (a miss just redoes it), never as a hash. Only for objects nobody
 * mutates after the key is taken (loaded specs are not mutated).
 */
export function keyOf(value: object): string {
  let key = keys.get(value);
  if (key === undefined) {
    key = JSON.stringify(value);
    keys.set(value, key);
  }
  return key;
}

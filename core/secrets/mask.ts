// Hides credentials written inside values: the userinfo of URLs (`postgres://app:pw@db/app` →
// `postgres://app:***@db/app`, `https://token@host` → `https://***@host`), wherever a value is
// shown. Masking by key name (fields.ts) misses these, because DATABASE_URL does not look secret.
// Pure.

// scheme://userinfo@ where userinfo has no "/", "@", whitespace or quote; the scheme is RFC 3986's.
const USERINFO = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/@"'<>]+)@/g;

export const MASK = "***";

/** `s` with the password (or a lone user, often a token) of every URL in it replaced by ***. */
export function maskUrlCredentials(s: string): string {
  if (!s.includes("://")) return s;
  return s.replace(USERINFO, (_m, scheme: string, info: string) => {
    const colon = info.indexOf(":");
    return colon < 0 ? `${scheme}${MASK}@` : `${scheme}${info.slice(0, colon)}:${MASK}@`;
  });
}

/** A JSON value with maskUrlCredentials applied to every string in it. */
export function maskValue<T>(v: T): T {
  if (typeof v === "string") return maskUrlCredentials(v) as T;
  if (Array.isArray(v)) return v.map(maskValue) as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = maskValue(x);
    return out as T;
  }
  return v;
}

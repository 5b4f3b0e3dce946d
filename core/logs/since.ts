// `--since` for `berth logs` and `?since=` of GET /v1/apps/{app}/logs: a duration back from now
// ("90s", "10m", "2h", "1d", "1h30m") or a point in time (RFC 3339, e.g. 2025-05-01T10:00:00Z).
// Pure: the current time comes in.

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const duration = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
// A date, optionally with a time and an offset (a bare date is midnight UTC).
const instant = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

export type SinceResult = { ok: true; ms: number } | { ok: false; error: string };

/** Epoch milliseconds `value` stands for, or an error a person can act on. */
export function parseSince(value: string, now: number): SinceResult {
  const v = value.trim();
  if (duration.test(v)) {
    let ms = 0;
    for (const m of v.matchAll(part)) ms += Number(m[1]) * (units[m[2] as string] as number);
    return { ok: true, ms: now - ms };
  }
  if (instant.test(v)) {
    const ms = Date.parse(v.includes("T") || v.includes(" ") ? v.replace(" ", "T") : `${v}T00:00:00Z`);
    if (Number.isFinite(ms)) return { ok: true, ms };
  }
  return {
    ok: false,
    error: `since "${value}" is neither a duration (90s, 10m, 2h, 1d, 1h30m) nor a time (2025-05-01T10:00:00Z)`,
  };
}

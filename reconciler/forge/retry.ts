// Decides whether a forge API call that failed should be tried again, and after how long. Pure: it
// reads the response status, headers and body text it is given; it never sleeps or calls anything.
//
// What the forges send when they limit us:
// - GitHub primary limit: 403/429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (epoch s).
// - GitHub secondary limit: 403/429 with `retry-after` (s), or no header and a message saying
//   "secondary rate limit"; GitHub asks clients to wait at least a minute then, growing each time.
// - GitLab: 429 with `retry-after` and `ratelimit-remaining`/`ratelimit-reset`.
// - Gitea: 429 (and 403 for some proxies) with `retry-after`.

export interface RetryPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** First back-off for 5xx and network errors; doubled on each further try. */
  baseDelayMs: number;
  /** A wait longer than this is not made: the call fails with `retryAfterMs` so the caller can requeue. */
  maxDelayMs: number;
  /** Wait after a secondary rate limit that names no time (GitHub says: at least one minute). */
  secondaryLimitDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 120_000,
  secondaryLimitDelayMs: 60_000,
};

/** The parts of a failed response the decision needs; header names in lower case. */
export interface FailedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bodyText: string;
}

export type RetryDecision =
  | { retry: true; delayMs: number; reason: RetryReason }
  | {
      retry: false;
      reason: RetryReason | "not-retryable" | "attempts-exhausted" | "wait-too-long";
      delayMs?: number;
    };

export type RetryReason =
  | "retry-after"
  | "rate-limit-reset"
  | "secondary-rate-limit"
  | "too-many-requests"
  | "server-error"
  | "network";

function header(h: FailedResponse["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Retry-After` as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function isSecondaryLimit(bodyText: string): boolean {
  return /secondary rate limit|abuse detection/i.test(bodyText);
}

/** Exponential back-off with +-20% jitter, so that several clients do not retry in lockstep. */
export function backoff(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const raw = baseMs * 2 ** Math.max(0, attempt - 1);
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** Why a response (or a network error when `res` is undefined) should be retried, and when. */
function wanted(
  res: FailedResponse | undefined,
  attempt: number,
  p: RetryPolicy,
  now: number,
): { delayMs: number; reason: RetryReason } | undefined {
  if (res === undefined) return { delayMs: backoff(attempt, p.baseDelayMs), reason: "network" };
  const { status, headers } = res;
  if (status === 403 || status === 429) {
    const after = parseRetryAfter(header(headers, "retry-after"), now);
    if (after !== undefined) return { delayMs: Math.max(after, 1000), reason: "retry-after" };
    const remaining = header(headers, "x-ratelimit-remaining") ?? header(headers, "ratelimit-remaining");
    const reset = header(headers, "x-ratelimit-reset") ?? header(headers, "ratelimit-reset");
    if (remaining === "0" && reset !== undefined && /^\d+$/.test(reset)) {
      // One extra second: the forge's clock and ours differ, and the reset time is rounded down.
      return { delayMs: Math.max(Number(reset) * 1000 - now, 0) + 1000, reason: "rate-limit-reset" };
    }
    if (isSecondaryLimit(res.bodyText)) {
      return {
        delayMs: p.secondaryLimitDelayMs * 2 ** Math.max(0, attempt - 1),
        reason: "secondary-rate-limit",
      };
    }
    if (status === 429) return { delayMs: backoff(attempt, p.baseDelayMs), reason: "too-many-requests" };
    return undefined; // a plain 403 is a permission problem: retrying will not fix it
  }
  if (status === 500 || status === 502 || status === 503 || status === 504) {
    return { delayMs: backoff(attempt, p.baseDelayMs), reason: "server-error" };
  }
  return undefined;
}

/**
 * Decides what to do after try number `attempt` (1-based) failed with `res` (undefined: the request
 * did not get a response). `idempotent` false means the caller must not simply resend (a create).
 */
export function decideRetry(
  res: FailedResponse | undefined,
  attempt: number,
  policy: RetryPolicy,
  now: number = Date.now(),
): RetryDecision {
  const w = wanted(res, attempt, policy, now);
  if (!w) return { retry: false, reason: "not-retryable" };
  if (w.delayMs > policy.maxDelayMs) return { retry: false, reason: "wait-too-long", delayMs: w.delayMs };
  if (attempt >= policy.maxAttempts)
    return { retry: false, reason: "attempts-exhausted", delayMs: w.delayMs };
  return { retry: true, delayMs: w.delayMs, reason: w.reason };
}

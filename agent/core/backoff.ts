// Backoff bookkeeping for failed actions, keyed by action key (workload id + specHash, instance,
// or Caddy config hash): the same thing failing again waits exponentially longer (1 s → 5 min by
// default), so a broken workload never turns into a tight loop. Pure: time and randomness come in
// as arguments.
import type { Cause } from "../../schema/index.js";
import type { ActionKind } from "./actions.js";

export interface BackoffEntry {
  key: string;
  /** What failed, as it was planned (kind and reason). */
  kind: ActionKind;
  step: string;
  workloadId: string;
  /** Failures so far of this key. */
  attempt: number;
  lastError: string;
  /** Whose failure it was, in words. */
  cause: Cause;
  /** ms since epoch when the next attempt may run. */
  nextAttemptAt: number;
}

export type BackoffBook = ReadonlyMap<string, BackoffEntry>;

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** ± fraction of the delay, so many agents failing together do not retry in lockstep. */
  jitter: number;
}

export const defaultBackoffPolicy: BackoffPolicy = { baseMs: 1_000, capMs: 300_000, jitter: 0.2 };

/** Delay before retry number `attempt + 1`, given `attempt` failures; `random` in [0, 1). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: number): number {
  const raw = policy.baseMs * 2 ** Math.max(0, attempt - 1);
  const jittered = raw * (1 - policy.jitter + 2 * policy.jitter * random);
  return Math.round(Math.min(policy.capMs, jittered));
}

export interface Failure {
  key: string;
  kind: ActionKind;
  step: string;
  workloadId: string;
  error: string;
  cause: Cause;
}

export function recordFailure(
  book: BackoffBook,
  f: Failure,
  now: number,
  random: number,
  policy: BackoffPolicy = defaultBackoffPolicy,
): BackoffBook {
  const attempt = (book.get(f.key)?.attempt ?? 0) + 1;
  const next = new Map(book);
  next.set(f.key, {
    key: f.key,
    kind: f.kind,
    step: f.step,
    workloadId: f.workloadId,
    attempt,
    lastError: f.error,
    cause: f.cause,
    nextAttemptAt: now + backoffDelayMs(attempt, policy, random),
  });
  return next;
}

export function clearEntry(book: BackoffBook, key: string): BackoffBook {
  if (!book.has(key)) return book;
  const next = new Map(book);
  next.delete(key);
  return next;
}

/** Drops entries whose key is no longer relevant (spec changed, instance gone). */
export function pruneBook(book: BackoffBook, liveKeys: ReadonlySet<string>): BackoffBook {
  let changed = false;
  const next = new Map<string, BackoffEntry>();
  for (const [k, e] of book) {
    if (liveKeys.has(k)) next.set(k, e);
    else changed = true;
  }
  return changed ? next : book;
}

/** Earliest time a deferred retry is due, or undefined when nothing waits. */
export function nextDue(book: BackoffBook, now: number): number | undefined {
  let min: number | undefined;
  for (const e of book.values()) {
    if (e.nextAttemptAt > now && (min === undefined || e.nextAttemptAt < min)) min = e.nextAttemptAt;
  }
  return min;
}

// Exits of a workload's instances, counted per spec (workload id + specHash) rather than per
// instance: a restart makes a fresh process or a fresh container whose own counters start at
// zero, so the count, the last exit and the restart delay live here, survive the instance being
// recreated (and, persisted by the loop, the agent restarting). An exit soon after a start
// extends a streak; the delay before the next start doubles with the streak up to a cap, and a
// streak of `loopAfter` is a crash loop. An instance that stays up and healthy for
// `stableAfterMs` ends the streak. Pure: time and randomness come in as arguments.
import { type BackoffPolicy, backoffDelayMs } from "./backoff.js";

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** ms since epoch. */
  at: number;
  /** Last output lines, sanitised and redacted. */
  output: string[];
}

export interface CrashRecord {
  /** workloadKey(id, specHash). */
  key: string;
  workloadId: string;
  /** Exits of instances of this spec that berth starts again (or will). */
  restarts: number;
  /** Exits in a row, each soon after its start (within stableAfterMs). */
  streak: number;
  lastExit: ExitInfo | null;
  /** The instance whose exit was counted last: an exit is seen by several observers, counted once. */
  lastExitRef: string | null;
  /** When berth last started an instance of this spec (ms epoch), if it knows. */
  lastStartAt: number | null;
  /** The next start of this spec waits until then (ms epoch). */
  nextRestartAt: number;
}

export type CrashBook = ReadonlyMap<string, CrashRecord>;

export interface CrashPolicy extends BackoffPolicy {
  /** A run this long (and healthy) is not part of a crash loop; ends the streak. */
  stableAfterMs: number;
  /** Exits in a row that make a crash loop. */
  loopAfter: number;
}

export const defaultCrashPolicy: CrashPolicy = {
  baseMs: 1_000,
  capMs: 300_000,
  jitter: 0.2,
  stableAfterMs: 60_000,
  loopAfter: 2,
};

const empty = (key: string, workloadId: string): CrashRecord => ({
  key,
  workloadId,
  restarts: 0,
  streak: 0,
  lastExit: null,
  lastExitRef: null,
  lastStartAt: null,
  nextRestartAt: 0,
});

/** Delay before the next start after `streak` quick exits in a row. */
export const restartDelayMs = (streak: number, policy: CrashPolicy, random: number): number =>
  backoffDelayMs(Math.max(1, streak), policy, random);

/** Counts the exit of instance `ref` of `key` (once per instance) and schedules the next start. */
export function recordExit(
  book: CrashBook,
  e: { key: string; workloadId: string; ref: string; exit: ExitInfo },
  random: number,
  policy: CrashPolicy = defaultCrashPolicy,
): CrashBook {
  const prev = book.get(e.key) ?? empty(e.key, e.workloadId);
  if (prev.lastExitRef === e.ref) {
    // Seen again (by the next observation): keep the richer record (an output excerpt read later).
    if (prev.lastExit && prev.lastExit.output.length === 0 && e.exit.output.length > 0) {
      const next = new Map(book);
      next.set(e.key, { ...prev, lastExit: { ...prev.lastExit, output: e.exit.output } });
      return next;
    }
    return book;
  }
  const quick = prev.lastStartAt !== null && e.exit.at - prev.lastStartAt < policy.stableAfterMs;
  const streak = quick ? prev.streak + 1 : 1;
  const next = new Map(book);
  next.set(e.key, {
    ...prev,
    restarts: prev.restarts + 1,
    streak,
    lastExit: e.exit,
    lastExitRef: e.ref,
    nextRestartAt: e.exit.at + restartDelayMs(streak, policy, random),
  });
  return next;
}

/** Notes that berth started an instance of `key` now (the clock of "soon after a start"). */
export function recordStart(book: CrashBook, key: string, workloadId: string, now: number): CrashBook {
  const prev = book.get(key) ?? empty(key, workloadId);
  const next = new Map(book);
  next.set(key, { ...prev, lastStartAt: now });
  return next;
}

/**
 * Ends the streak of every key whose instance has now run, healthy, for stableAfterMs since its
 * start (restarts and the last exit stay: they are history, shown until the spec changes).
 */
export function settleCrashes(
  book: CrashBook,
  healthyKeys: ReadonlySet<string>,
  now: number,
  policy: CrashPolicy = defaultCrashPolicy,
): CrashBook {
  let next: Map<string, CrashRecord> | null = null;
  for (const [k, r] of book) {
    if (r.streak === 0 || !healthyKeys.has(k)) continue;
    if (r.lastStartAt !== null && now - r.lastStartAt < policy.stableAfterMs) continue;
    next ??= new Map(book);
    next.set(k, { ...r, streak: 0, nextRestartAt: 0 });
  }
  return next ?? book;
}

export const isCrashLooping = (
  r: CrashRecord | undefined,
  policy: CrashPolicy = defaultCrashPolicy,
): boolean => r !== undefined && r.streak >= policy.loopAfter;

/** Keeps only the records of keys that still matter. */
export function pruneCrashes(book: CrashBook, live: ReadonlySet<string>): CrashBook {
  let changed = false;
  const next = new Map<string, CrashRecord>();
  for (const [k, r] of book) {
    if (live.has(k)) next.set(k, r);
    else changed = true;
  }
  return changed ? next : book;
}

/** Earliest pending restart after `now`, or undefined. */
export function nextRestartDue(book: CrashBook, now: number): number | undefined {
  let min: number | undefined;
  for (const r of book.values()) {
    if (r.nextRestartAt > now && (min === undefined || r.nextRestartAt < min)) min = r.nextRestartAt;
  }
  return min;
}

// Drift the agent repaired: the node had applied its document completely, then something outside
// berth changed it (a process killed by hand or dead, a container removed, Caddy's config edited)
// and the agent put it back. An observation that differs from the one after the last pass, on the
// document already applied, opens an episode; every action that succeeds until nothing is left to
// do for the document is one repair, except a restart of a crash-looping workload (its restarts say
// that): an app that crashes at every start does not count up here, nor does a deploy that never
// converged, nor a step of `berth restart` (asked for; agent/loop/outcome.ts leaves it out). A new document closes the episode: its actions are a deploy, not a repair. The record
// changes only when a repair happens, so reports stay equal between repairs and the status branch
// gets no commit per heartbeat. Counts since the agent started (kept in memory only). Pure.
import type { Drift } from "../../schema/index.js";

export interface DriftRecord {
  repaired: number;
  /** When the last repair finished (ms epoch). */
  lastAt: number | null;
  /** The last repair's action reason, e.g. "restart web-0: process exited (was killed by SIGKILL)". */
  last: string | null;
  /** Drift seen on the applied document and not repaired yet. */
  open: boolean;
}

export const noDrift: DriftRecord = { repaired: 0, lastAt: null, last: null, open: false };

/** The observed state changed since the last pass; it is drift to repair when the document was applied. */
export const driftSeen = (d: DriftRecord, documentApplied: boolean): DriftRecord =>
  documentApplied && !d.open ? { ...d, open: true } : d;

/** An action succeeded: one repair while an episode is open, unless it restarts a crash-looping workload. */
export function actionSucceeded(
  d: DriftRecord,
  a: { reason: string; crashLooping: boolean },
  now: number,
): DriftRecord {
  if (!d.open || a.crashLooping) return d;
  return { ...d, repaired: d.repaired + 1, lastAt: now, last: a.reason.slice(0, 1000) };
}

/** Nothing is left to do for the document, or a new one arrived: the episode ends. */
export const driftClosed = (d: DriftRecord): DriftRecord => (d.open ? { ...d, open: false } : d);

export const driftReport = (d: DriftRecord): Drift => ({
  repaired: d.repaired,
  lastAt: d.lastAt === null ? null : new Date(d.lastAt).toISOString(),
  last: d.last,
});

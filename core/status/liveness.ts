// Node liveness: whether the reconciler can vouch that a node's agent is there. Pure decisions
// only — the verdict from the last contact, the clock and the bounds, and which verdict changes
// are announced (event + status-branch commit). The timers and the contact bookkeeping live in
// the reconciler shell (reconciler/liveness/). See docs/reconciler.md, "Liveness".

export type Liveness = "alive" | "stale" | "lost";

export interface LivenessBounds {
  /** No contact for longer than this: stale. A healthy agent is never out of contact for more than a few ms. */
  staleAfterMs: number;
  /** No contact for longer than this: lost. */
  lostAfterMs: number;
  /**
   * After a restart, how long a node the reconciler has not heard from yet may take to call
   * before it is announced lost, counted from the first agent that called (agents retry at most
   * 30 s + 20 % apart, so a live one calls within 36 s).
   */
  startupGraceMs: number;
  /**
   * The longest the server holds a long-poll before answering "no change". An open long-poll
   * counts as contact, so this bounds how long a silently vanished peer (its link down: nothing
   * refuses, nothing closes) can still look present: stale is seen at most pollHold + staleAfter
   * after the link went down.
   */
  pollHoldMs: number;
}

/**
 * Defaults: a link that goes down is stale within 8 + 5 s (+ the 1 s check) and lost within
 * 8 + 30 s (+ 1 s); goals 15 s and 45 s (docs/reconciler.md has the measurements).
 */
export const defaultLivenessBounds: LivenessBounds = {
  staleAfterMs: 5_000,
  lostAfterMs: 30_000,
  startupGraceMs: 40_000,
  pollHoldMs: 8_000,
};

export interface NodeLiveness {
  state: Liveness;
  /** When the node entered this state (ms epoch). */
  since: number;
  /** The last moment the reconciler knew the agent was there (ms epoch); null: not known. */
  lastSeen: number | null;
  /**
   * Shown but not announced: a node not heard from since the reconciler started, while agents
   * still have time to reconnect (no events, nothing committed, so a restart does not flap).
   */
  quiet?: true;
}

/** When this reconciler started, and when the first agent called it since (null: none yet). */
export interface ReferenceTimes {
  startedAt: number;
  activeAt: number | null;
}

/**
 * The verdict at `now`. `contact` is the last contact since this reconciler started (an open
 * long-poll makes it `now`), null when there was none; `prev` is the previous verdict (or the one
 * committed before a restart), which supplies `since` while the state stays the same.
 */
export function livenessAt(
  prev: NodeLiveness | undefined,
  contact: number | null,
  now: number,
  ref: ReferenceTimes,
  b: LivenessBounds,
): NodeLiveness {
  if (contact === null) return notHeardSinceStart(prev, now, ref, b);
  const age = now - contact;
  if (age > b.lostAfterMs) return { state: "lost", since: contact + b.lostAfterMs, lastSeen: contact };
  if (age > b.staleAfterMs) return { state: "stale", since: contact + b.staleAfterMs, lastSeen: contact };
  // Alive since the contact that ended the last gap: kept while alive, else this contact.
  return { state: "alive", since: prev?.state === "alive" ? prev.since : contact, lastSeen: contact };
}

function notHeardSinceStart(
  prev: NodeLiveness | undefined,
  now: number,
  ref: ReferenceTimes,
  b: LivenessBounds,
): NodeLiveness {
  const lastSeen = prev?.lastSeen ?? null;
  // Lost before the restart and still silent: keep the verdict and its time.
  if (prev?.state === "lost") return { state: "lost", since: prev.since, lastSeen };
  const lostAt = ref.activeAt === null ? null : ref.activeAt + Math.max(b.startupGraceMs, b.lostAfterMs);
  if (lostAt !== null && now >= lostAt) return { state: "lost", since: lostAt, lastSeen };
  // Not alive (nothing vouches for it), but not announced: its agent may still be reconnecting,
  // or (no agent called at all) the agents use another reconciler.
  const since = prev?.state === "stale" ? prev.since : ref.startedAt;
  return { state: "stale", since, lastSeen, quiet: true };
}

export type LivenessEvent = "node-stale" | "node-lost" | "node-back";

/**
 * What a verdict change means for the outside world, given the state announced last (by this
 * process, or committed before a restart; undefined: never announced): an event (which also gets
 * committed), "record" (committed without an event: the first verdict of a node that is alive),
 * or null (nothing to announce).
 */
export function announcement(
  announced: Liveness | undefined,
  current: NodeLiveness,
): LivenessEvent | "record" | null {
  if (current.quiet || announced === current.state) return null;
  if (current.state === "alive") return announced === undefined ? "record" : "node-back";
  return current.state === "stale" ? "node-stale" : "node-lost";
}

/** A sentence for events, logs and `berth status`: what is known and since when. */
export function livenessMessage(
  node: string,
  l: NodeLiveness,
  now: number,
  b: LivenessBounds,
  ref: ReferenceTimes,
): string {
  const at = (ms: number) => new Date(ms).toISOString();
  const seen =
    l.lastSeen === null ? "never seen" : `last seen ${at(l.lastSeen)} (${ago(now - l.lastSeen)} ago)`;
  if (l.state === "alive") return `${node} is alive: in contact since ${at(l.since)}`;
  if (l.quiet) {
    return ref.activeAt === null
      ? `${node} has not called since this reconciler started at ${at(ref.startedAt)}, nor has any other agent (they may use another reconciler); ${seen}`
      : `${node} has not called since this reconciler started at ${at(ref.startedAt)}; ${seen}`;
  }
  const bound = l.state === "stale" ? b.staleAfterMs : b.lostAfterMs;
  return `${node} is ${l.state} since ${at(l.since)}: no contact for more than ${ago(bound)}; ${seen}`;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

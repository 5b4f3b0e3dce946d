// A node's liveness from the last moment the reconciler knew its agent was there. The reconciler's
// node book gives `liveness` itself once it tracks it (issue 12); until then (and for nodes
// without it) this derives it from lastSeen: an agent long-polls every ≤ 30 s, so two minutes of
// silence is stale and five is lost. A node never seen by this process is measured from the
// process's start, so a restart does not report every node lost at once. Pure.

export type Liveness = "alive" | "stale" | "lost";

export const livenessDefaults = { staleAfterMs: 120_000, lostAfterMs: 300_000 };

export interface LivenessInput {
  lastSeen: number | null;
  /** Given by the node book when it tracks liveness itself. */
  liveness?: string;
}

export function livenessOf(
  n: LivenessInput,
  now: number,
  startedAt: number,
  t: { staleAfterMs: number; lostAfterMs: number } = livenessDefaults,
): Liveness {
  if (n.liveness === "alive" || n.liveness === "stale" || n.liveness === "lost") return n.liveness;
  const age = now - (n.lastSeen ?? startedAt);
  if (age >= t.lostAfterMs) return "lost";
  if (age >= t.staleAfterMs) return "stale";
  return "alive";
}

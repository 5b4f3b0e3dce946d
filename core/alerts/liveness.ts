// A node's liveness for the alert facts: the reconciler's own verdict (core/status/liveness.ts,
// given by the node book) when there is one. Backends without verdicts (test fakes of the API)
// get one derived from lastSeen, with the same default bounds, measured from the start for a
// node never seen. Pure.
import { defaultLivenessBounds, type Liveness } from "../status/liveness.js";

export type { Liveness };

export const livenessDefaults = {
  staleAfterMs: defaultLivenessBounds.staleAfterMs,
  lostAfterMs: defaultLivenessBounds.lostAfterMs,
};

export interface LivenessInput {
  lastSeen: number | null;
  liveness?: { state: Liveness };
}

export function livenessOf(
  n: LivenessInput,
  now: number,
  startedAt: number,
  t: { staleAfterMs: number; lostAfterMs: number } = livenessDefaults,
): Liveness {
  if (n.liveness) return n.liveness.state;
  const age = now - (n.lastSeen ?? startedAt);
  if (age >= t.lostAfterMs) return "lost";
  if (age >= t.staleAfterMs) return "stale";
  return "alive";
}

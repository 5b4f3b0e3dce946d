// Wires core/handoff/failover into a publish: with failover on in berth.yaml, the commit is
// placed again with the nodes lost past the grace period cordoned (a separate evaluator, so the
// loop's warm one keeps the commit's own placement). When the remaining nodes have no room the
// commit's own placement stays and the reason is given. No I/O.

import type { LoadResult } from "../core/config/model.js";
import type { Evaluator } from "../core/evaluate.js";
import {
  decideFailover,
  type FailoverSettings,
  failoverConfig,
  failoverMessage,
  failoverSettings,
  type LostNode,
} from "../core/handoff/failover.js";
import type { DesiredState, Plan } from "../schema/index.js";

export interface FailoverStep {
  settings: FailoverSettings | null;
  /** The documents to publish (before handoffs): the commit's, or those of the failover placement. */
  target: ReadonlyMap<string, DesiredState>;
  /** Nodes whose replicas this generation places elsewhere. */
  failedOver: LostNode[];
  /** Plan entries for them. */
  entries: NonNullable<Plan["failover"]>;
  /** Set when failover was due but could not be placed: why. */
  blocked: string | null;
  /** When the next lost node's grace period ends (ms epoch). */
  nextAt: number | null;
}

export function placeWithFailover(
  load: LoadResult,
  own: ReadonlyMap<string, DesiredState>,
  source: { branch: string; commit: string },
  lost: readonly LostNode[],
  now: number,
  evaluator: Evaluator,
): FailoverStep {
  const settings = failoverSettings(load.config);
  const decision = decideFailover(settings, lost, now);
  const none = { settings, target: own, failedOver: [], entries: [], blocked: null, nextAt: decision.nextAt };
  if (!settings || decision.failedOver.length === 0) return none;
  const ev = evaluator.evaluate(
    { ...load, config: failoverConfig(load.config, decision.failedOver) },
    source,
  );
  if (!ev.valid) {
    const names = decision.failedOver.map((l) => l.node).join(", ");
    const first = ev.diagnostics[0]?.message ?? "placement failed";
    return {
      ...none,
      blocked: `failover of ${names} is due, but the remaining nodes cannot take their replicas: ${first}`,
    };
  }
  return {
    settings,
    target: ev.desired,
    failedOver: decision.failedOver,
    entries: decision.failedOver.map((l) => ({
      node: l.node,
      lostSince: new Date(l.since).toISOString(),
      message: failoverMessage(l, settings),
    })),
    blocked: null,
    nextAt: decision.nextAt,
  };
}

// Failover as a setting (berth.yaml `failover`): which lost nodes have been lost past the grace
// period, and the config placement then sees — those nodes cordoned, so their replicas are placed
// on the remaining eligible nodes by the usual rules (and moved there start-first when their old
// copies still serve, core/handoff). When a node is no longer lost it is eligible again and its
// replicas go back: placement stays a function of the commit and of these facts only, never of
// what happened before. Pure.
import type { Config } from "../config/model.js";

export interface FailoverSettings {
  enabled: boolean;
  graceSeconds: number;
}

/** A node the liveness watch judges lost, and since when (ms epoch). */
export interface LostNode {
  node: string;
  since: number;
}

export interface FailoverDecision {
  /** Nodes lost for at least the grace period, by name: their replicas go elsewhere. */
  failedOver: LostNode[];
  /** When the next lost node's grace period ends (ms epoch), null when none is waiting. */
  nextAt: number | null;
}

export function failoverSettings(config: Config): FailoverSettings | null {
  const f = config.settings.failover;
  if (!f?.enabled) return null;
  return { enabled: true, graceSeconds: f.graceSeconds ?? 30 };
}

export function decideFailover(
  settings: FailoverSettings | null,
  lost: readonly LostNode[],
  now: number,
): FailoverDecision {
  if (!settings) return { failedOver: [], nextAt: null };
  const grace = settings.graceSeconds * 1000;
  const failedOver: LostNode[] = [];
  let nextAt: number | null = null;
  for (const l of [...lost].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))) {
    const due = l.since + grace;
    if (due <= now) failedOver.push(l);
    else nextAt = nextAt === null ? due : Math.min(nextAt, due);
  }
  return { failedOver, nextAt };
}

/** `config` as placement sees it during failover: the failed-over nodes cordoned. */
export function failoverConfig(config: Config, failedOver: readonly LostNode[]): Config {
  if (failedOver.length === 0) return config;
  const names = new Set(failedOver.map((l) => l.node));
  return {
    ...config,
    nodes: config.nodes.map((e) =>
      names.has(e.spec.name) ? { ...e, spec: { ...e.spec, cordon: true } } : e,
    ),
  };
}

/** `failover: w1 lost since 2026-05-01T10:00:00.000Z (grace 30 s): its replicas run on the remaining nodes` */
export function failoverMessage(l: LostNode, settings: FailoverSettings): string {
  return `failover: ${l.node} lost since ${new Date(l.since).toISOString()} (grace ${settings.graceSeconds} s): its replicas run on the remaining nodes until it returns`;
}

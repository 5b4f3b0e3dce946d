// Wires core/handoff into a publish: the facts (agents' last reports, lost nodes) and the commit's
// config go in, the documents that keep old copies during moves and drains come out. The loop
// (reconciler.ts) runs again whenever an agent's report changes while handoffs are pending: those
// reports are the facts the next generation waits for. No I/O.
import type { Config } from "../core/config/model.js";
import { applyHandoffs, factsFrom, type HandoffResult } from "../core/handoff/index.js";
import type { DesiredState, NodeStatus } from "../schema/index.js";
import type { FailoverEntry } from "./store/desired-layout.js";
import type { ServedState } from "./store/served.js";

export interface HandoffStepInput {
  /** The documents of the commit being published. */
  target: ReadonlyMap<string, DesiredState>;
  /** Its config: node addresses and proxy roles. */
  config: Config;
  served: ServedState;
  /** Every node's last status report. */
  statuses: Iterable<readonly [string, NodeStatus | null]>;
  /** Nodes the reconciler has lost (nothing is waited for from them). */
  lost: ReadonlySet<string>;
}

export function overlayHandoffs(input: HandoffStepInput): HandoffResult {
  const { config, served } = input;
  const addresses = new Map(config.nodes.map((e) => [e.spec.name, e.spec.address]));
  const proxies = config.nodes
    .filter((e) => e.spec.roles.includes("proxy"))
    .map((e) => e.spec.name)
    .sort();
  return applyHandoffs({
    target: input.target,
    published: served.docs,
    pending: served.handoffs,
    addresses,
    proxies,
    facts: factsFrom(input.statuses, served.docs, input.lost),
  });
}

/**
 * The commit subject's summary: what moved this generation on when it was not a commit — a node
 * failed over or back, or a handoff step — then the plan's summary line.
 */
export function generationSummary(
  before: readonly FailoverEntry[],
  after: readonly FailoverEntry[],
  notes: HandoffResult["notes"],
  summary: string,
): string {
  const was = new Set(before.map((f) => f.node));
  const now = new Set(after.map((f) => f.node));
  const parts: string[] = [];
  for (const f of after) if (!was.has(f.node)) parts.push(`failover: ${f.node} lost since ${f.lostSince}`);
  for (const f of before) if (!now.has(f.node)) parts.push(`failover over: ${f.node} is back`);
  const moved = notes.filter((n) => n.event !== "waiting");
  if (moved.length > 0) parts.push(moved[0]?.message.split(";")[0] ?? "");
  if (parts.length === 0) return summary;
  const extra = parts.length - 1 + Math.max(0, moved.length - 1);
  return `${parts[0]}${extra > 0 ? ` (+${extra} more)` : ""}; ${summary}`;
}

// Wires core/handoff into a publish: the facts (agents' last reports, lost nodes) and the commit's
// config go in, the documents that keep old copies during moves and drains come out. The loop
// (reconciler.ts) runs again whenever an agent's report changes while handoffs are pending: those
// reports are the facts the next generation waits for. No I/O.
import type { Config } from "../core/config/model.js";
import { applyHandoffs, factsFrom, type HandoffResult } from "../core/handoff/index.js";
import type { DesiredState, NodeStatus } from "../schema/index.js";
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

/** `handoff: web-0 w1 → w2 completed; Plan: …` — the commit subject says what moved it on. */
export function handoffSummary(notes: HandoffResult["notes"], summary: string): string {
  const moved = notes.filter((n) => n.event !== "waiting");
  if (moved.length === 0) return summary;
  const first = moved[0]?.message.split(";")[0] ?? "";
  return `${first}${moved.length > 1 ? ` (+${moved.length - 1} more)` : ""}; ${summary}`;
}

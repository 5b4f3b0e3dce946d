// Moves: a workload the plan creates on one node while the base has it on another is one step,
// with its order (start-first: started and healthy on the new node, and routed, before it stops
// on the old one; see core/handoff). Its create and delete stay in the node changes (what each
// agent does); views show the move once and the summary counts it once, as a change. Pure.
import type { DesiredState, Move, NodeChange } from "../../schema/index.js";
import { moveCause, type ReasonContext } from "./reasons.js";

export function movesOf(
  nodes: readonly NodeChange[],
  head: ReadonlyMap<string, DesiredState>,
  ctx: ReasonContext,
): Move[] {
  const out: Move[] = [];
  for (const n of nodes) {
    for (const w of n.workloads) {
      if (w.action !== "create") continue;
      const from = ctx
        .baseLocation()
        .get(w.id)
        ?.find((x) => x !== n.node);
      if (from === undefined) continue;
      const strategy = head.get(n.node)?.workloads.find((x) => x.id === w.id)?.strategy ?? "start-first";
      out.push({
        id: w.id,
        app: w.app,
        from,
        to: n.node,
        order: strategy,
        reason: moveCause(from, n.node, w.app, ctx),
      });
    }
  }
  return out.sort((a, b) =>
    a.app !== b.app ? (a.app < b.app ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
}

/** `node|id` of the creates and deletes that are part of a move. */
export function moveKeys(moves: readonly Move[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const m of moves ?? []) {
    out.add(`create|${m.to}|${m.id}`);
    out.add(`delete|${m.from}|${m.id}`);
  }
  return out;
}

/** Whether a node's workload change is one half of a move (views show the move instead). */
export function isMoveStep(
  keys: ReadonlySet<string>,
  node: string,
  w: { id: string; action: string },
): boolean {
  return keys.has(`${w.action}|${node}|${w.id}`);
}

/** `move web-0 w1 → w2: start on w2, then stop on w1 (w1 cordoned)` */
export function moveText(m: Move): string {
  const order =
    m.order === "start-first"
      ? `start on ${m.to}, then stop on ${m.from}`
      : `stop on ${m.from}, then start on ${m.to}`;
  return `move ${m.id} ${m.from} → ${m.to}: ${order} (${m.reason})`;
}

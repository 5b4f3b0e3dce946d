// Plan counts (SPEC §3): of workloads and routes, per node; a replace counts as one change, and
// so does a move (its create and delete are not counted apart). Pure.
import type { Move, NodeChange, Plan } from "../../schema/index.js";
import { isMoveStep, moveKeys } from "./moves.js";

export function summarize(nodes: readonly NodeChange[], moves: readonly Move[] = []): Plan["summary"] {
  let add = 0;
  let change = moves.length;
  let remove = 0;
  const keys = moveKeys(moves);
  for (const n of nodes) {
    for (const w of n.workloads) {
      if (isMoveStep(keys, n.node, w)) continue;
      if (w.action === "create") add++;
      else if (w.action === "delete") remove++;
      else change++;
    }
    for (const c of n.routes) {
      if (c.action === "create") add++;
      else if (c.action === "delete") remove++;
      else change++;
    }
  }
  return { add, change, remove };
}

/** `Plan: 1 to add, 2 to change, 0 to remove.`, or `No changes.` when nothing at all changes. */
export function summaryLine(plan: Plan): string {
  if (!plan.valid) {
    const n = plan.errors.length;
    return `Plan: invalid (${n} error${n === 1 ? "" : "s"}), nothing will be published.`;
  }
  const { add, change, remove } = plan.summary;
  if (add + change + remove === 0 && plan.resources.length === 0 && plan.nodes.length === 0)
    return "No changes.";
  return `Plan: ${add} to add, ${change} to change, ${remove} to remove.`;
}

/** Whether the plan would change anything a node runs or serves (`--detailed-exitcode` 2). */
export function hasChanges(plan: Plan): boolean {
  const { add, change, remove } = plan.summary;
  return add + change + remove > 0 || plan.resources.length > 0 || plan.nodes.length > 0;
}

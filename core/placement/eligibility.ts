// Which nodes may run an app at all, before capacity: worker role, not cordoned, a runtime that
// can run it, and the app's placement.nodes / placement.labels. Pure; candidate lists are
// memoised per node table by selector, since thousands of apps share a handful of selectors.
import type { NodeTable, PlacementNode } from "./nodes.js";
import type { AppRequest } from "./request.js";

export type Exclusion = "not-worker" | "cordoned" | "runtime" | "placement-nodes" | "placement-labels";

/** Why `node` may not run `app`, or null when it may (capacity aside). */
export function exclusionOf(app: AppRequest, node: PlacementNode): Exclusion | null {
  if (!node.worker) return "not-worker";
  if ((node.runtime === "process") !== (app.kind === "process")) return "runtime";
  if (app.nodes && !app.nodes.includes(node.name)) return "placement-nodes";
  if (app.labels) {
    for (const [k, v] of Object.entries(app.labels)) {
      if (node.labels[k] !== v) return "placement-labels";
    }
  }
  // Last, so that "cordoned" means "would be eligible but for the cordon".
  if (node.cordon) return "cordoned";
  return null;
}

/**
 * The nodes that may run an app by role, runtime and selector, cordoned ones included (placement
 * ranks them too, see place.ts), in ascending node order, and the same nodes grouped by
 * rendezvous weight: within one weight the highest score is simply the highest hash, so the
 * logarithm is only taken once per group.
 */
export interface Candidates {
  /** Node indices, ascending. */
  all: Int32Array;
  groups: { invWeight: number; nodes: Int32Array; hashes: Uint32Array }[];
}

/** Candidates of `app`, memoised by selector in `memo` (one memo per node table). */
export function candidateNodes(table: NodeTable, app: AppRequest, memo: Map<string, Candidates>): Candidates {
  const hit = memo.get(app.selectorKey);
  if (hit) return hit;
  const { nodes } = table;
  const all: number[] = [];
  const byWeight = new Map<number, number[]>();
  for (const node of app.nodes ? named(table, app.nodes) : nodes) {
    const why = exclusionOf(app, node);
    if (why !== null && why !== "cordoned") continue;
    all.push(node.index);
    const group = byWeight.get(node.invWeight);
    if (group) group.push(node.index);
    else byWeight.set(node.invWeight, [node.index]);
  }
  const result: Candidates = {
    all: Int32Array.from(all),
    groups: [...byWeight].map(([invWeight, list]) => ({
      invWeight,
      nodes: Int32Array.from(list),
      hashes: Uint32Array.from(list.map((i) => (nodes[i] as PlacementNode).hash)),
    })),
  };
  memo.set(app.selectorKey, result);
  return result;
}

/**
 * The nodes `names` lists, once each, in node order: an app pinned to a few nodes need not look
 * at all of them (hundreds of pinned selectors × a thousand nodes was a third of a cold placement).
 */
function named(table: NodeTable, names: readonly string[]): PlacementNode[] {
  const found = new Set<PlacementNode>();
  for (const name of names) {
    const node = table.byName.get(name);
    if (node) found.add(node);
  }
  return [...found].sort((a, b) => a.index - b.index);
}

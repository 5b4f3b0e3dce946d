// replicas-fit: a necessary condition for placement — the app's replicas fit on its eligible
// nodes, each alone. Counts, per eligible node, how many replicas its cpu/memory capacity holds
// (a node without a capacity is unbounded). The exact packing of all apps together is done by
// placement (core/placement), which reports what this cheap check cannot see.
import type { AppSpec } from "../model.js";
import { formatBytes, parseMemory } from "../quantity.js";
import type { IndexedNode, NodeIndex } from "./node-index.js";
import type { AppRule } from "./types.js";

const EPSILON = 1e-9;

export const replicasFit: AppRule = {
  name: "replicas-fit",
  scope: "app",
  checkApp(a, { nodes, nodeNames }, report) {
    // A Node that failed its schema is missing from the index: its own errors come first.
    if (nodes.all.length < nodeNames.size) return;
    const app = a.spec;
    if (app.replicas === 0) return;
    // Unknown node names or labels are reported by their own rules; this would only repeat them.
    if (placementRefersToMissing(app, nodes, nodeNames)) return;
    const eligible = nodes.eligible(app);
    if (eligible.length === 0) {
      // When some nodes match but run the wrong runtime, runtime-mismatch explains it.
      if (nodes.placementMatches(app).length > 0) return;
      report({ path: ["replicas"], message: noNodeMessage(app, nodes) });
      return;
    }
    const cpu = app.resources?.cpu;
    const memory = app.resources?.memory === undefined ? undefined : parseMemory(app.resources.memory);
    if (cpu === undefined && memory === undefined) return;
    const room = roomFor(eligible, cpu, memory, app.replicas);
    if (room >= app.replicas) return;
    const need = [
      cpu === undefined ? "" : `${cpu} cpu`,
      memory === undefined ? "" : (app.resources?.memory ?? ""),
    ]
      .filter(Boolean)
      .join(" and ");
    const count = `${eligible.length} eligible node${eligible.length === 1 ? "" : "s"}`;
    report({
      path: ["replicas"],
      message:
        room === 0
          ? `app "${app.name}": one replica needs ${need}, but none of its ${count} has that much capacity (largest: ${largest(eligible)}): lower resources or add a larger node`
          : `app "${app.name}" needs ${app.replicas} replicas of ${need}, but its ${count} have room for only ${room}: lower replicas or resources, or add nodes`,
    });
  },
};

/** Replicas of one request the nodes hold together (stops counting once `enough` is reached). */
function roomFor(
  eligible: readonly IndexedNode[],
  cpu: number | undefined,
  memory: number | undefined,
  enough: number,
): number {
  let room = 0;
  for (const n of eligible) {
    let fits = Number.POSITIVE_INFINITY;
    if (cpu !== undefined && n.cpu !== undefined) fits = Math.min(fits, Math.floor(n.cpu / cpu + EPSILON));
    if (memory !== undefined && memory > 0 && n.memory !== undefined) {
      fits = Math.min(fits, Math.floor(n.memory / memory + EPSILON));
    }
    room += fits;
    if (room >= enough) return room;
  }
  return room;
}

function largest(eligible: readonly IndexedNode[]): string {
  let cpu = 0;
  let mem = 0;
  for (const n of eligible) {
    cpu = Math.max(cpu, n.cpu ?? 0);
    mem = Math.max(mem, n.memory ?? 0);
  }
  return `${cpu} cpu, ${formatBytes(mem)}`;
}

function placementRefersToMissing(app: AppSpec, nodes: NodeIndex, nodeNames: ReadonlySet<string>): boolean {
  if (app.placement?.nodes?.some((n) => !nodeNames.has(n))) return true;
  const labels = nodes.labelsOf(app);
  if (labels.some((l) => !nodes.byLabel.has(l))) return true;
  // No node at all carries every label: placement-unknown-label says so.
  return labels.length > 1 && !nodes.someNodeHasAll(labels);
}

function noNodeMessage(app: AppSpec, nodes: NodeIndex): string {
  const head = `app "${app.name}" cannot be placed: no node may run it`;
  const workers = nodes.all.filter((n) => n.spec.roles.includes("worker"));
  if (nodes.all.length === 0) return `${head} (there are no nodes): add a Node, or set replicas: 0`;
  if (workers.length === 0) return `${head} (no node has the worker role): add "worker" to a node's roles`;
  if (workers.every((n) => n.spec.cordon)) return `${head} (every worker node is cordoned): uncordon a node`;
  return `${head} (no worker node that is not cordoned matches its placement): widen placement or add a matching node`;
}

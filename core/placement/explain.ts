// Explains an infeasible app in words an operator can act on: how many replicas fit and why the
// rest do not (no eligible node and why each node is excluded, or which resource is short).
// Pure; only called when placement already failed, so it may be slow.
import { type CapacityState, fits } from "./capacity.js";
import { type Exclusion, exclusionOf } from "./eligibility.js";
import type { PlacementNode } from "./nodes.js";
import type { AppRequest } from "./request.js";
import { formatCpu, formatMemory } from "./resources.js";

const exclusionText: Record<Exclusion, (app: AppRequest) => string> = {
  "not-worker": () => "no worker role",
  cordoned: () => "cordoned",
  runtime: (app) =>
    app.kind === "process"
      ? "a container runtime (a command needs runtime: process)"
      : "runtime process (an image needs podman or docker)",
  "placement-nodes": () => "not in placement.nodes",
  "placement-labels": (app) =>
    `labels do not match ${Object.entries(app.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(",")}`,
};

function names(list: readonly PlacementNode[]): string {
  const shown = list.slice(0, 3).map((n) => n.name);
  return list.length > 3 ? `${shown.join(", ")} and ${list.length - 3} more` : shown.join(", ");
}

/** The sentence for an app of which only `placed` of `app.replicas` replicas could be placed. */
export function explainShortfall(
  app: AppRequest,
  placed: number,
  nodes: readonly PlacementNode[],
  state: CapacityState,
): string {
  const head = `app "${app.name}" needs ${app.replicas} replica${app.replicas === 1 ? "" : "s"} but ${
    placed === 0 ? "none fits" : `only ${placed} fit${placed === 1 ? "s" : ""}`
  }`;
  const excluded = new Map<Exclusion, PlacementNode[]>();
  const eligible: PlacementNode[] = [];
  for (const node of nodes) {
    const why = exclusionOf(app, node);
    if (why === null) eligible.push(node);
    else excluded.set(why, [...(excluded.get(why) ?? []), node]);
  }
  if (eligible.length === 0) {
    if (nodes.length === 0) return `${head}: there are no nodes; add a Node document`;
    const parts = [...excluded].map(([why, list]) => `${exclusionText[why](app)}: ${names(list)}`);
    return `${head}: no node may run it (${parts.join("; ")}); change the app's placement or the nodes`;
  }
  return `${head}: ${shortages(app, eligible, state)}; add capacity, relax placement, or lower replicas or resources`;
}

function shortages(app: AppRequest, eligible: readonly PlacementNode[], state: CapacityState): string {
  const cpu: PlacementNode[] = [];
  const memory: PlacementNode[] = [];
  const ports: PlacementNode[] = [];
  let maxCpu = 0;
  let maxMemory = 0;
  for (const node of eligible) {
    if (fits(state, node, app)) continue;
    const i = node.index;
    const freeCpu = node.cpu - state.cpu[i]!;
    const freeMemory = node.memory - state.memory[i]!;
    if (freeCpu < app.cpu) cpu.push(node);
    maxCpu = Math.max(maxCpu, freeCpu);
    if (freeMemory < app.memory) memory.push(node);
    maxMemory = Math.max(maxMemory, freeMemory);
    if (state.slots[i]! >= node.slots) ports.push(node);
  }
  const parts: string[] = [];
  const of = (list: PlacementNode[]) =>
    list.length === eligible.length
      ? `all ${eligible.length} eligible node${eligible.length === 1 ? "" : "s"}`
      : names(list);
  if (cpu.length > 0)
    parts.push(
      `not enough cpu on ${of(cpu)} (needs ${formatCpu(app.cpu)}, at most ${formatCpu(maxCpu)} free)`,
    );
  if (memory.length > 0)
    parts.push(
      `not enough memory on ${of(memory)} (needs ${formatMemory(app.memory)}, at most ${formatMemory(maxMemory)} free)`,
    );
  if (ports.length > 0) parts.push(`portRange full on ${of(ports)} (each workload takes two ports)`);
  return parts.length > 0 ? parts.join("; ") : "no eligible node has room";
}

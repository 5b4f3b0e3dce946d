// Which nodes may run an app: the worker nodes that are not cordoned, match its placement
// (nodes and labels) and run a runtime that can run it (image: podman/docker, command: process).
// Indexed by label so 10,000 apps over 1,000 nodes stay cheap; results are shared between apps
// with the same placement. Pure.
import type { AppSpec, Entry, NodeSpec } from "../model.js";

export type RuntimeClass = "container" | "process";

export const RUNTIMES_OF: Record<RuntimeClass, readonly NodeSpec["runtime"][]> = {
  container: ["podman", "docker"],
  process: ["process"],
};

export function runtimeClassOf(app: AppSpec): RuntimeClass {
  return app.command !== undefined ? "process" : "container";
}

export interface NodeIndex {
  all: readonly Entry<NodeSpec>[];
  byName: ReadonlyMap<string, Entry<NodeSpec>>;
  /** Nodes whose labels include `key=value`, keyed by that string. */
  byLabel: ReadonlyMap<string, readonly Entry<NodeSpec>[]>;
  /** Schedulable nodes (worker role, not cordoned) matching the app's placement, any runtime. */
  placementMatches(app: AppSpec): readonly Entry<NodeSpec>[];
  /** placementMatches narrowed to nodes whose runtime can run the app. */
  eligible(app: AppSpec): readonly Entry<NodeSpec>[];
}

export function indexNodes(nodes: readonly Entry<NodeSpec>[]): NodeIndex {
  const byName = new Map<string, Entry<NodeSpec>>();
  const byLabel = new Map<string, Entry<NodeSpec>[]>();
  for (const n of nodes) {
    // With duplicate names the first wins here; the duplicate-node rule reports the others.
    if (!byName.has(n.spec.name)) byName.set(n.spec.name, n);
    for (const [k, v] of Object.entries(n.spec.labels ?? {})) {
      const key = `${k}=${v}`;
      const list = byLabel.get(key);
      if (list) list.push(n);
      else byLabel.set(key, [n]);
    }
  }
  const schedulable = (n: Entry<NodeSpec>) => n.spec.roles.includes("worker") && !n.spec.cordon;
  const matchMemo = new Map<string, Entry<NodeSpec>[]>();
  const eligibleMemo = new Map<string, Entry<NodeSpec>[]>();

  const keys = new Map<AppSpec, string>();
  const placementKey = (app: AppSpec): string => {
    let key = keys.get(app);
    if (key !== undefined) return key;
    const p = app.placement;
    key = "";
    if (p) {
      const labels = Object.entries(p.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .sort();
      key = `${(p.nodes ?? []).join(",")}|${labels.join(",")}`;
    }
    keys.set(app, key);
    return key;
  };

  const placementMatches = (app: AppSpec): Entry<NodeSpec>[] => {
    const key = placementKey(app);
    let hit = matchMemo.get(key);
    if (hit) return hit;
    const p = app.placement;
    const labels = Object.entries(p?.labels ?? {});
    let candidates: readonly Entry<NodeSpec>[] = nodes;
    if (p?.nodes) {
      candidates = p.nodes
        .map((name) => byName.get(name))
        .filter((n): n is Entry<NodeSpec> => n !== undefined);
    }
    // Start from the rarest label: the other checks then run over few nodes.
    for (const [k, v] of labels) {
      const withLabel = byLabel.get(`${k}=${v}`) ?? [];
      if (withLabel.length < candidates.length && !p?.nodes) candidates = withLabel;
    }
    hit = candidates.filter((n) => schedulable(n) && labels.every(([k, v]) => n.spec.labels?.[k] === v));
    matchMemo.set(key, hit);
    return hit;
  };

  const eligible = (app: AppSpec): Entry<NodeSpec>[] => {
    const cls = runtimeClassOf(app);
    const key = `${cls}#${placementKey(app)}`;
    let hit = eligibleMemo.get(key);
    if (hit) return hit;
    const runtimes = RUNTIMES_OF[cls];
    hit = placementMatches(app).filter((n) => runtimes.includes(n.spec.runtime));
    eligibleMemo.set(key, hit);
    return hit;
  };

  return { all: nodes, byName, byLabel, placementMatches, eligible };
}

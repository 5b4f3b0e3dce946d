// Which nodes may run an app: the worker nodes that are not cordoned, match its placement
// (nodes and labels) and run a runtime that can run it (image: podman/docker, command: process).
// Indexed by label, and memoised by placement, so 10,000 apps over 1,000 nodes stay cheap.
// Pure.
import type { AppSpec, Entry, NodeSpec } from "../model.js";
import { parseMemory } from "../quantity.js";

export type RuntimeClass = "container" | "process";

export const RUNTIMES_OF: Record<RuntimeClass, readonly NodeSpec["runtime"][]> = {
  container: ["podman", "docker"],
  process: ["process"],
};

export function runtimeClassOf(app: AppSpec): RuntimeClass {
  return app.command !== undefined ? "process" : "container";
}

/** A node with its capacity parsed (undefined: not declared, so unbounded). */
export interface IndexedNode {
  entry: Entry<NodeSpec>;
  cpu: number | undefined;
  memory: number | undefined;
}

export interface NodeIndex {
  all: readonly Entry<NodeSpec>[];
  byName: ReadonlyMap<string, Entry<NodeSpec>>;
  /** Nodes whose labels include `key=value`, keyed by that string. */
  byLabel: ReadonlyMap<string, readonly Entry<NodeSpec>[]>;
  /** The app's placement labels as `key=value` strings (sorted), computed once per app. */
  labelsOf(app: AppSpec): readonly string[];
  /** True when some node (any role, cordoned or not) has every one of `labels`. */
  someNodeHasAll(labels: readonly string[]): boolean;
  /** Schedulable nodes (worker role, not cordoned) matching the app's placement, any runtime. */
  placementMatches(app: AppSpec): readonly IndexedNode[];
  /** placementMatches narrowed to nodes whose runtime can run the app. */
  eligible(app: AppSpec): readonly IndexedNode[];
}

export function indexNodes(nodes: readonly Entry<NodeSpec>[]): NodeIndex {
  const byName = new Map<string, Entry<NodeSpec>>();
  const byLabel = new Map<string, Entry<NodeSpec>[]>();
  const labelSets = new Map<Entry<NodeSpec>, Set<string>>();
  const indexed = new Map<Entry<NodeSpec>, IndexedNode>();
  for (const n of nodes) {
    // With duplicate names the first wins here; the duplicate-node rule reports the others.
    if (!byName.has(n.spec.name)) byName.set(n.spec.name, n);
    const set = new Set<string>();
    for (const [k, v] of Object.entries(n.spec.labels ?? {})) {
      const key = `${k}=${v}`;
      set.add(key);
      const list = byLabel.get(key);
      if (list) list.push(n);
      else byLabel.set(key, [n]);
    }
    labelSets.set(n, set);
    const memory = n.spec.capacity?.memory;
    indexed.set(n, {
      entry: n,
      cpu: n.spec.capacity?.cpu,
      memory: memory === undefined ? undefined : parseMemory(memory),
    });
  }
  const hasAll = (n: Entry<NodeSpec>, labels: readonly string[]) => {
    const set = labelSets.get(n) as Set<string>;
    for (const l of labels) if (!set.has(l)) return false;
    return true;
  };

  // An app's placement labels (as sorted key=value strings) and its selector key, made once per
  // distinct placement block: 10,000 apps share a few hundred, and one native JSON.stringify per
  // app is cheaper than building the strings again.
  const selectors = new Map<string, { labels: readonly string[]; key: string }>();
  const selectorOfApp = new Map<AppSpec, { labels: readonly string[]; key: string }>();
  const selectorOf = (app: AppSpec) => {
    let sel = selectorOfApp.get(app);
    if (sel) return sel;
    const placement = app.placement;
    const json = placement === undefined ? "" : JSON.stringify(placement);
    sel = selectors.get(json);
    if (!sel) {
      const own = placement?.labels;
      const labels = own ? Object.keys(own).map((k) => `${k}=${own[k]}`) : [];
      if (labels.length > 1) labels.sort();
      const names = placement?.nodes;
      const key =
        names === undefined && labels.length === 0 ? "" : `${names?.join(",") ?? ""}|${labels.join(",")}`;
      sel = { labels, key };
      selectors.set(json, sel);
    }
    selectorOfApp.set(app, sel);
    return sel;
  };
  const labelsOf = (app: AppSpec): readonly string[] => selectorOf(app).labels;
  const keyOf = (app: AppSpec) => selectorOf(app).key;

  const someMemo = new Map<string, boolean>();
  const someNodeHasAll = (labels: readonly string[]): boolean => {
    const key = labels.join(",");
    let hit = someMemo.get(key);
    if (hit === undefined) {
      hit = nodes.some((n) => hasAll(n, labels));
      someMemo.set(key, hit);
    }
    return hit;
  };

  const matchMemo = new Map<string, IndexedNode[]>();
  const placementMatches = (app: AppSpec): IndexedNode[] => {
    const key = keyOf(app);
    let hit = matchMemo.get(key);
    if (hit) return hit;
    const names = app.placement?.nodes;
    const labels = labelsOf(app);
    let candidates: readonly Entry<NodeSpec>[] = nodes;
    if (names) {
      candidates = names.map((name) => byName.get(name)).filter((n): n is Entry<NodeSpec> => n !== undefined);
    } else {
      // Start from the rarest label: the other checks then run over few nodes.
      for (const l of labels) {
        const withLabel = byLabel.get(l) ?? [];
        if (withLabel.length < candidates.length) candidates = withLabel;
      }
    }
    hit = candidates
      .filter((n) => n.spec.roles.includes("worker") && !n.spec.cordon && hasAll(n, labels))
      .map((n) => indexed.get(n) as IndexedNode);
    matchMemo.set(key, hit);
    return hit;
  };

  const eligibleMemo = new Map<string, IndexedNode[]>();
  const eligibleOf = new Map<AppSpec, IndexedNode[]>();
  const eligible = (app: AppSpec): IndexedNode[] => {
    let hit = eligibleOf.get(app);
    if (hit) return hit;
    const cls = runtimeClassOf(app);
    const key = `${cls}#${keyOf(app)}`;
    hit = eligibleMemo.get(key);
    if (!hit) {
      const runtimes = RUNTIMES_OF[cls];
      hit = placementMatches(app).filter((n) => runtimes.includes(n.entry.spec.runtime));
      eligibleMemo.set(key, hit);
    }
    eligibleOf.set(app, hit);
    return hit;
  };

  return { all: nodes, byName, byLabel, labelsOf, someNodeHasAll, placementMatches, eligible };
}

// Keeps the overview's rows between requests and recomputes only what changed: a node's instances
// when its report, document or liveness changed (the reconciler replaces those objects, so identity
// says it), and the rows of the apps those instances belong to (before and after). A page load
// with nothing new costs only the rendering; a node's report costs its apps. The rows themselves
// come from core/views/ops; this only decides which to make again.
import {
  type AppRow,
  appRow,
  type InstanceRow,
  instancesOf,
  type NodeInput,
  type NodeRow,
  nodeRow,
  type OpsInput,
  sortRows,
} from "../../core/views/ops/index.js";

interface NodeEntry {
  status: NodeInput["status"];
  desired: NodeInput["desired"];
  liveness: NodeInput["liveness"];
  instances: InstanceRow[];
  row: NodeRow;
}

export class RowsCache {
  private readonly nodes = new Map<string, NodeEntry>();
  /** app → nodes that have (or had) instances of it. */
  private readonly appNodes = new Map<string, Set<string>>();
  private readonly apps = new Map<string, AppRow>();
  private deploys: OpsInput["deploys"] | null = null;
  private sorted: { apps: AppRow[]; nodes: NodeRow[] } | null = null;

  rows(input: OpsInput): { apps: AppRow[]; nodes: NodeRow[] } {
    const dirty = new Set<string>();
    const seen = new Set<string>();
    let nodesChanged = false;
    const byNode = new Map(input.nodes.map((n) => [n.node, n]));
    for (const n of input.nodes) {
      seen.add(n.node);
      const prev = this.nodes.get(n.node);
      if (prev && prev.status === n.status && prev.desired === n.desired && prev.liveness === n.liveness) {
        // The row shows lastSeen and the liveness verdict's since and message, which move
        // without the report changing.
        const row = nodeRow(n);
        const r0 = prev.row;
        if (
          row.lastSeen !== r0.lastSeen ||
          row.livenessSince !== r0.livenessSince ||
          row.livenessMessage !== r0.livenessMessage
        ) {
          prev.row = row;
          nodesChanged = true;
        }
        continue;
      }
      const instances = instancesOf(n);
      for (const i of prev?.instances ?? []) dirty.add(i.app);
      for (const i of instances) {
        dirty.add(i.app);
        let set = this.appNodes.get(i.app);
        if (!set) {
          set = new Set();
          this.appNodes.set(i.app, set);
        }
        set.add(n.node);
      }
      this.nodes.set(n.node, {
        status: n.status,
        desired: n.desired,
        liveness: n.liveness,
        instances,
        row: nodeRow(n),
      });
      nodesChanged = true;
    }
    for (const [name, prev] of this.nodes) {
      if (seen.has(name)) continue;
      for (const i of prev.instances) dirty.add(i.app);
      this.nodes.delete(name);
      nodesChanged = true;
    }
    if (input.deploys !== this.deploys) {
      this.deploys = input.deploys;
      for (const app of this.appNodes.keys()) dirty.add(app);
    }
    for (const app of dirty) {
      const on = this.appNodes.get(app) ?? new Set<string>();
      const instances: InstanceRow[] = [];
      for (const node of [...on].sort()) {
        const list = this.nodes.get(node)?.instances.filter((i) => i.app === app) ?? [];
        if (list.length === 0) on.delete(node);
        instances.push(...list);
      }
      if (instances.length === 0) {
        this.apps.delete(app);
        this.appNodes.delete(app);
      } else this.apps.set(app, appRow(app, instances, byNode, input));
    }
    if (!this.sorted || dirty.size > 0 || nodesChanged) {
      this.sorted = {
        apps:
          dirty.size > 0 || !this.sorted ? sortRows([...this.apps.values()], (r) => r.app) : this.sorted.apps,
        nodes: sortRows(
          [...this.nodes.values()].map((e) => e.row),
          (r) => r.node,
        ),
      };
    }
    return this.sorted;
  }
}

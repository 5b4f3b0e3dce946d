// The app page's view-model: the app's row, its instances per node, its operation history (as the
// reconciler saw the agents report it) and the plan entries of recent generations that changed it.
// Pure.
import type { FieldChange, ResourceChange, WorkloadChange } from "../../../schema/index.js";
import type { GenerationInput } from "./history.js";
import { instancesOf } from "./instances.js";
import { appRow } from "./overview.js";
import type { AppRow, InstanceRow, OpsInput } from "./types.js";

/** One transition of an instance's operation, as observed in the agents' reports. */
export interface OperationRecord {
  /** When the reconciler received the report (ISO). */
  at: string;
  node: string;
  app: string;
  instance: string;
  status: string;
  step: string;
  attempt: number;
  error: string | null;
}

/** What one generation's plan did to the app. */
export interface AppChange {
  generation: number;
  at: string;
  commit: string | null;
  subject: string | null;
  resource: ResourceChange | null;
  workloads: { node: string; change: WorkloadChange }[];
  /** Domains that route to the app, added, changed or removed. */
  domains: ResourceChange[];
}

export interface AppPageModel {
  app: string;
  row: AppRow;
  instances: InstanceRow[];
  operations: OperationRecord[];
  changes: AppChange[];
}

function mentionsApp(changes: readonly FieldChange[], app: string): boolean {
  return changes.some((c) => c.field === "app" && (c.before === app || c.after === app));
}

/** The plan entries of `gens` that touch `app`, newest generation first. */
export function appChanges(app: string, gens: readonly GenerationInput[]): AppChange[] {
  const out: AppChange[] = [];
  for (const g of [...gens].sort((a, b) => b.generation - a.generation)) {
    const plan = g.plan;
    if (!plan?.valid) continue;
    const resource = plan.resources.find((r) => r.kind === "App" && r.name === app) ?? null;
    const domains = plan.resources.filter((r) => r.kind === "Domain" && mentionsApp(r.changes, app));
    const workloads = plan.nodes.flatMap((n) =>
      n.workloads.filter((w) => w.app === app).map((change) => ({ node: n.node, change })),
    );
    if (!resource && workloads.length === 0 && domains.length === 0) continue;
    out.push({
      generation: g.generation,
      at: g.at,
      commit: g.source?.commit ?? null,
      subject: g.source?.subject ?? null,
      resource,
      workloads,
      domains,
    });
  }
  return out;
}

/** The app page, or null when no node is meant to run the app and no plan mentions it. */
export function appPage(
  app: string,
  input: OpsInput,
  operations: readonly OperationRecord[],
  gens: readonly GenerationInput[],
): AppPageModel | null {
  const nodes = new Map(input.nodes.map((n) => [n.node, n]));
  const instances = input.nodes
    .flatMap((n) => instancesOf(n).filter((i) => i.app === app))
    .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const changes = appChanges(app, gens);
  if (instances.length === 0 && changes.length === 0) return null;
  return {
    app,
    row: appRow(app, instances, nodes, input),
    instances,
    operations: operations
      .filter((o) => o.app === app)
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)),
    changes,
  };
}

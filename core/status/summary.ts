// Summarises what runs against what should run: per node (applied commit, in sync, phase, last
// seen) and per app (healthy replicas x/y, current operation, last error). Pure; `berth status`
// feeds it from the status and desired branches or from the live API.
import type { DesiredState, Diagnostic, NodeStatus, Operation, RestartState } from "../../schema/index.js";

export interface NodeSummary {
  node: string;
  phase: NodeStatus["phase"] | "unknown";
  inSync: boolean;
  appliedCommit: string | null;
  desiredHash: string | null;
  appliedHash: string | null;
  lastSeen: number | null;
  problems: string[];
}

export interface WorkloadSummary {
  id: string;
  node: string;
  state: string;
  health: string;
  current: boolean;
  operation: Operation | null;
}

export interface AppSummary {
  app: string;
  healthy: number;
  desired: number;
  workloads: WorkloadSummary[];
  lastError: string | null;
}

/** What the reconciler published last, and the invalid tip it refused, if any. */
export interface PublishedSummary {
  generation: number;
  commit: string | null;
  rejected?: { commit: string; at: string; errors: number; diagnostics: Diagnostic[] } | null;
}

/** A `berth restart` as a node reports it: under way, or the last outcome for the app. */
export interface RestartSummary extends RestartState {
  node: string;
}

export interface StatusSummary {
  reconciler?: PublishedSummary;
  nodes: NodeSummary[];
  apps: AppSummary[];
  /** Restarts the nodes report (newest first); absent when there are none. */
  restarts?: RestartSummary[];
}

export interface StatusInputs {
  desired: Map<string, DesiredState>;
  statuses: Map<string, NodeStatus>;
  lastSeen?: Map<string, number | null>;
  published?: PublishedSummary;
}

export function summarise(input: StatusInputs, filter: { node?: string; app?: string } = {}): StatusSummary {
  const names = [...new Set([...input.desired.keys(), ...input.statuses.keys()])].sort();
  const nodes: NodeSummary[] = [];
  const restarts: RestartSummary[] = [];
  const apps = new Map<string, AppSummary>();
  const appOf = (app: string): AppSummary => {
    let a = apps.get(app);
    if (!a) {
      a = { app, healthy: 0, desired: 0, workloads: [], lastError: null };
      apps.set(app, a);
    }
    return a;
  };

  for (const node of names) {
    if (filter.node && node !== filter.node) continue;
    const doc = input.desired.get(node);
    const st = input.statuses.get(node);
    nodes.push({
      node,
      phase: st?.phase ?? "unknown",
      inSync: Boolean(doc && st && st.appliedHash === doc.hash && st.phase === "converged"),
      appliedCommit: st?.appliedCommit ?? null,
      desiredHash: doc?.hash ?? null,
      appliedHash: st?.appliedHash ?? null,
      lastSeen: input.lastSeen?.get(node) ?? null,
      problems: [
        ...(st?.problems ?? []).map((p) => `${p.code}: ${p.message}`),
        ...(st?.ingress?.lastError ? [`ingress: ${st.ingress.lastError}`] : []),
      ],
    });
    for (const r of st?.restarts ?? [])
      if (!filter.app || r.app === filter.app) restarts.push({ node, ...r });
    const reported = new Map((st?.workloads ?? []).map((w) => [w.id, w]));
    for (const w of doc?.workloads ?? []) {
      const a = appOf(w.app);
      const r = reported.get(w.id);
      const current = r?.specHash === w.specHash;
      a.desired += 1;
      if (current && r?.state === "running" && r.health === "healthy") a.healthy += 1;
      a.workloads.push({
        id: w.id,
        node,
        state: r ? r.state : "unknown",
        health: r ? r.health : "unknown",
        current,
        operation: r?.operation ?? null,
      });
      if (r?.operation?.lastError) a.lastError = r.operation.lastError;
    }
  }
  const appList = [...apps.values()]
    .filter((a) => !filter.app || a.app === filter.app)
    .sort((x, y) => x.app.localeCompare(y.app));
  for (const a of appList) a.workloads.sort((x, y) => x.id.localeCompare(y.id));
  restarts.sort((x, y) => y.at.localeCompare(x.at) || x.node.localeCompare(y.node));
  return {
    ...(input.published ? { reconciler: input.published } : {}),
    nodes,
    apps: appList,
    ...(restarts.length > 0 ? { restarts } : {}),
  };
}

// Summarises what runs against what should run: per node (liveness, applied commit, in sync,
// phase, last seen) and per app (healthy replicas x/y, current operation, last error). A node the
// reconciler cannot vouch for (stale or lost) is never shown converged or in sync, and its
// replicas do not count as healthy: what is known is shown as the last report, with since when.
// Pure; `berth status` feeds it from the status and desired branches or from the live API.
import type { Diagnostic, NodeStatus, Operation, RestartState } from "../../schema/index.js";
import type { Liveness } from "./liveness.js";

export interface NodeSummary {
  node: string;
  /** alive / stale / lost; "unknown" when nothing says (a status branch written before liveness). */
  liveness: Liveness | "unknown";
  /** When the node entered that liveness (ms epoch), null when unknown. */
  livenessSince: number | null;
  /** What is known about the node's contact, in words (null when nothing is known). */
  livenessMessage: string | null;
  /** The reported phase while the node is vouched for; "unknown" otherwise. */
  phase: NodeStatus["phase"] | "unknown";
  /** The phase of the last report, whatever the liveness. */
  reportedPhase: NodeStatus["phase"] | null;
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
  /** Replicas on nodes that are stale or lost: their health is not known. */
  unknown: number;
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
  /** Where the liveness comes from: the live API, or the last verdicts committed to the status branch. */
  livenessSource?: "live" | "committed";
  nodes: NodeSummary[];
  apps: AppSummary[];
  /** Restarts the nodes report (newest first); absent when there are none. */
  restarts?: RestartSummary[];
}

/** The part of a desired document a summary needs (a DesiredState or the API's summary of one). */
export interface DesiredView {
  hash: string;
  workloads: readonly { id: string; app: string; specHash: string }[];
}

export interface LivenessFact {
  state: Liveness;
  since: number;
  lastSeen: number | null;
  message?: string;
}

export interface StatusInputs {
  desired: ReadonlyMap<string, DesiredView>;
  statuses: ReadonlyMap<string, NodeStatus>;
  lastSeen?: ReadonlyMap<string, number | null>;
  liveness?: ReadonlyMap<string, LivenessFact>;
  livenessSource?: "live" | "committed";
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
      a = { app, healthy: 0, desired: 0, unknown: 0, workloads: [], lastError: null };
      apps.set(app, a);
    }
    return a;
  };

  for (const node of names) {
    if (filter.node && node !== filter.node) continue;
    const doc = input.desired.get(node);
    const st = input.statuses.get(node);
    const live = input.liveness?.get(node);
    // Without any liveness (an old status branch) the report is all there is; with one, only an
    // alive node's report is vouched for.
    const vouched = live === undefined || live.state === "alive";
    nodes.push({
      node,
      liveness: live?.state ?? "unknown",
      livenessSince: live?.since ?? null,
      livenessMessage: live?.message ?? null,
      phase: vouched ? (st?.phase ?? "unknown") : "unknown",
      reportedPhase: st?.phase ?? null,
      inSync: Boolean(vouched && doc && st && st.appliedHash === doc.hash && st.phase === "converged"),
      appliedCommit: st?.appliedCommit ?? null,
      desiredHash: doc?.hash ?? null,
      appliedHash: st?.appliedHash ?? null,
      lastSeen: input.lastSeen?.get(node) ?? live?.lastSeen ?? null,
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
      if (!vouched) a.unknown += 1;
      else if (current && r?.state === "running" && r.health === "healthy") a.healthy += 1;
      a.workloads.push({
        id: w.id,
        node,
        state: r && vouched ? r.state : "unknown",
        health: r && vouched ? r.health : "unknown",
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
    ...(input.livenessSource ? { livenessSource: input.livenessSource } : {}),
    nodes,
    apps: appList,
    ...(restarts.length > 0 ? { restarts } : {}),
  };
}

/** True when some node of the summary is stale or lost (`berth status --fail-on-stale`). */
export const anyNotAlive = (s: StatusSummary): boolean =>
  s.nodes.some((n) => n.liveness === "stale" || n.liveness === "lost");

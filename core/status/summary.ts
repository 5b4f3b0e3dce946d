// Summarises what runs against what should run: per node (liveness, applied commit, in sync,
// phase, last seen) and per app what is desired (replicas, the commit of its spec) apart from what
// serves (which version — the desired one or a previous one — and how many healthy), and the
// failing operation with its step, attempt, next retry, cause, restarts and last exit. A node the
// reconciler cannot vouch for (stale or lost) is never shown converged or in sync, and its
// replicas do not count as healthy: what is known is shown as the last report, with since when.
// Pure; `berth status` feeds it from the status and desired branches or from the live API.
import type {
  Cause,
  Diagnostic,
  Drift,
  Exit,
  NodeStatus,
  Operation,
  RestartState,
} from "../../schema/index.js";
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
  /** What its agent put back after drift since it started; null when the agent does not report it. */
  drift: Drift | null;
}

export interface WorkloadSummary {
  id: string;
  node: string;
  state: string;
  health: string;
  /** Whether what serves is the desired spec. */
  current: boolean;
  /** Spec that serves (null: nothing runs). */
  specHash: string | null;
  /** Config commit of the spec that serves, when the agent knows it. */
  commit: string | null;
  restarts: number;
  lastExit: Exit | null;
  operation: Operation | null;
}

/** One version of an app that answers: the desired one, or a previous one kept while a new one fails. */
export interface ServingVersion {
  version: "desired" | "previous";
  /** Config commit of that version, when known. */
  commit: string | null;
  /** Instances of it that are healthy, and that run at all. */
  healthy: number;
  running: number;
}

/** The operation that fails for an app (the first failing workload's), with its cause. */
export interface FailingSummary {
  workload: string;
  node: string;
  state: string;
  /** "running" while an attempt is under way, "backoff" while the next one waits. */
  status: Operation["status"];
  step: string;
  attempt: number;
  nextAttemptAt: string | null;
  cause: Cause | null;
  restarts: number;
  lastExit: Exit | null;
}

export interface AppSummary {
  app: string;
  /** Replicas of the desired version that are healthy. */
  healthy: number;
  /** Replicas desired. */
  desired: number;
  /** Replicas on nodes that are stale or lost: their health is not known. */
  unknown: number;
  /** Config commit the desired version comes from (the commit of the published documents when not known better). */
  desiredCommit: string | null;
  /** What answers now, by version (on nodes the reconciler vouches for). */
  serving: ServingVersion[];
  workloads: WorkloadSummary[];
  failing: FailingSummary | null;
  lastError: string | null;
}

/** What the reconciler published last, and the invalid tip it refused, if any. */
export interface PublishedSummary {
  generation: number;
  commit: string | null;
  rejected?: { commit: string; at: string; errors: number; diagnostics: Diagnostic[] } | null;
  /** Old copies kept while moves and drains finish, each with what it waits for. */
  handoffs?: { id: string; node: string; to?: string; message: string }[];
  /** With failover on: lost nodes whose replicas run elsewhere, and why failover is blocked. */
  failover?: { node: string; lostSince: string; message: string }[];
  failoverBlocked?: string;
  /** The reconciler's own health (live API only): degraded while a stall has lasted too long. */
  health?: { status: "ok" | "degraded"; problems: { problem: string; message: string; since: string }[] };
  /** Read from the repo: the tracked branch's tip when it is not the published commit. */
  ahead?: { branch: string; tip: string; commits: number | null };
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
  /** The config commit it was published from (the API's summary). */
  commit?: string;
  /** The same, in a whole DesiredState. */
  source?: { commit: string };
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

const failingState = (state: string): boolean => state === "failed" || state === "crash-looping";

function servingOf(a: AppSummary): ServingVersion[] {
  const groups = new Map<string, ServingVersion>();
  for (const w of a.workloads) {
    if (w.specHash === null || w.state === "stopped" || w.state === "unknown") continue;
    // An exited instance kept for its slot serves nothing.
    const answers = w.health === "healthy" || (w.health === "unknown" && w.state === "running");
    if (!answers) continue;
    const version = w.current ? "desired" : "previous";
    const commit = w.current ? (w.commit ?? a.desiredCommit) : w.commit;
    const k = `${version}|${commit ?? ""}`;
    const g = groups.get(k) ?? { version, commit, healthy: 0, running: 0 };
    g.running += 1;
    if (w.health === "healthy") g.healthy += 1;
    groups.set(k, g);
  }
  return [...groups.values()].sort((x, y) =>
    x.version === y.version ? 0 : x.version === "desired" ? -1 : 1,
  );
}

function failingOf(a: AppSummary): FailingSummary | null {
  const w =
    a.workloads.find((x) => failingState(x.state) && x.operation) ??
    a.workloads.find(
      (x) => x.state !== "unknown" && x.operation && x.operation.status !== "succeeded" && x.operation.cause,
    );
  if (!w?.operation) return null;
  const op = w.operation;
  return {
    workload: w.id,
    node: w.node,
    state: w.state,
    status: op.status,
    step: op.step,
    attempt: op.attempt,
    nextAttemptAt: op.nextAttemptAt ?? null,
    cause: op.cause ?? (op.lastError ? { where: "agent", message: op.lastError } : null),
    restarts: w.restarts,
    lastExit: w.lastExit,
  };
}

export function summarise(input: StatusInputs, filter: { node?: string; app?: string } = {}): StatusSummary {
  const names = [...new Set([...input.desired.keys(), ...input.statuses.keys()])].sort();
  const nodes: NodeSummary[] = [];
  const restarts: RestartSummary[] = [];
  const apps = new Map<string, AppSummary>();
  const appOf = (app: string): AppSummary => {
    let a = apps.get(app);
    if (!a) {
      a = {
        app,
        healthy: 0,
        desired: 0,
        unknown: 0,
        desiredCommit: null,
        serving: [],
        workloads: [],
        failing: null,
        lastError: null,
      };
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
      drift: st?.drift ?? null,
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
      // The commit the desired spec came from, as an agent running it says; else the published one.
      if (current && r?.commit) a.desiredCommit = r.commit;
      else a.desiredCommit ??= doc?.commit ?? doc?.source?.commit ?? null;
      a.workloads.push({
        id: w.id,
        node,
        state: r && vouched ? r.state : "unknown",
        health: r && vouched ? r.health : "unknown",
        current,
        specHash: r?.specHash ?? null,
        commit: r?.commit ?? null,
        restarts: r?.restarts ?? 0,
        lastExit: r?.lastExit ?? null,
        operation: r?.operation ?? null,
      });
      if (r?.operation?.lastError) a.lastError = r.operation.lastError;
    }
  }
  const appList = [...apps.values()]
    .filter((a) => !filter.app || a.app === filter.app)
    .sort((x, y) => x.app.localeCompare(y.app));
  for (const a of appList) {
    a.workloads.sort((x, y) => x.id.localeCompare(y.id));
    a.serving = servingOf(a);
    a.failing = failingOf(a);
  }
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

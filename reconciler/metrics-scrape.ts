// The reconciler's per-node and per-app gauges, rebuilt from the backend on every scrape so that
// nodes and apps removed from the config disappear from the series. Values come from the served
// desired documents, the agents' last reports (core/status/app-nodes.ts) and the liveness
// verdicts; nothing is counted here. What nobody can vouch for is left out: a stale or lost
// node's phase is all 0, and its apps have only their desired count (no health, sync or serving
// revision). See docs/api.md for each series.
import { Gauge, type Registry } from "prom-client";
import { appNodes } from "../core/status/app-nodes.js";
import type { DesiredState, NodeStatus } from "../schema/index.js";
import type { ApiBackend } from "./contracts.js";
import { problemNames } from "./health/tracker.js";
import type { ContactBook } from "./liveness/contacts.js";

const phases = ["converged", "applying", "degraded", "failed"] as const;
const livenesses = ["alive", "stale", "lost"] as const;

type AppNodeLabels = "app" | "node";

export interface ScrapeGauges {
  nodeStatus: Gauge<"node" | "phase">;
  nodeLastSeen: Gauge<"node">;
  nodeLiveness: Gauge<"node" | "state">;
  nodeLivenessSince: Gauge<"node">;
  nodeInSync: Gauge<"node">;
  trackedValid: Gauge;
  appDesired: Gauge<AppNodeLabels>;
  appHealthy: Gauge<AppNodeLabels>;
  appUnhealthy: Gauge<AppNodeLabels>;
  appCrashLooping: Gauge<AppNodeLabels>;
  appInSync: Gauge<AppNodeLabels>;
  appRevision: Gauge<AppNodeLabels | "desired" | "serving">;
  alertsOpen: Gauge<"rule">;
  degraded: Gauge;
  healthProblem: Gauge<"problem">;
}

type Backend = Pick<ApiBackend, "nodes" | "desired" | "published" | "health">;

function create(registers: Registry[]): ScrapeGauges {
  const g = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers });
  return {
    nodeStatus: g(
      "berth_node_status",
      "Last reported phase per node (1 for the current phase, 0 for the others)",
      ["node", "phase"],
    ),
    nodeLastSeen: g(
      "berth_node_last_seen_timestamp_seconds",
      "Last moment the reconciler knew the node's agent was there (unix seconds; now while a long-poll is held)",
      ["node"],
    ),
    nodeLiveness: g(
      "berth_node_liveness",
      "Liveness verdict per node (1 for the current state of alive, stale, lost; 0 for the others)",
      ["node", "state"],
    ),
    nodeLivenessSince: g(
      "berth_node_liveness_since_timestamp_seconds",
      "When the node entered its current liveness state (unix seconds)",
      ["node"],
    ),
    nodeInSync: g("berth_node_in_sync", "1 when the node converged on the document currently served", [
      "node",
    ]),
    trackedValid: g(
      "berth_tracked_commit_valid",
      "1 when the tip of the tracked branch is valid, 0 while it is an invalid commit (nothing published)",
      [],
    ),
    appDesired: g(
      "berth_app_desired_instances",
      "Instances of the app the served document wants on the node",
      ["app", "node"],
    ),
    appHealthy: g(
      "berth_app_healthy_instances",
      "Instances of the app running healthy with the desired spec on the node",
      ["app", "node"],
    ),
    appUnhealthy: g(
      "berth_app_unhealthy_instances",
      "Instances of the app reported unhealthy, failed or crash-looping",
      ["app", "node"],
    ),
    appCrashLooping: g("berth_app_crash_looping_instances", "Instances of the app reported crash-looping", [
      "app",
      "node",
    ]),
    appInSync: g(
      "berth_app_in_sync",
      "1 when what serves the app on the node is exactly what is desired, every instance healthy",
      ["app", "node"],
    ),
    appRevision: g(
      "berth_app_revision_info",
      "Desired and serving revision of the app on the node (short hash of the workload specs; empty: none)",
      ["app", "node", "desired", "serving"],
    ),
    alertsOpen: g("berth_alerts_open", "Alerts open now, by rule (berth's own alerting, docs/alerts.md)", [
      "rule",
    ]),
    degraded: g(
      "berth_degraded",
      "1 while the reconciler is degraded (GET /healthz answers 503), else 0",
      [],
    ),
    healthProblem: g(
      "berth_health_problem",
      "1 while the problem has lasted longer than the degraded bound, else 0 (publish-failing, status-write-failing, publish-behind)",
      ["problem"],
    ),
  };
}

function refresh(g: ScrapeGauges, backend: Backend, contacts: ContactBook | undefined, now: number) {
  const nodeGauges = [g.nodeStatus, g.nodeLastSeen, g.nodeLiveness, g.nodeLivenessSince, g.nodeInSync];
  const appGauges = [
    g.appDesired,
    g.appHealthy,
    g.appUnhealthy,
    g.appCrashLooping,
    g.appInSync,
    g.appRevision,
  ];
  for (const gauge of [...nodeGauges, ...appGauges]) gauge.reset();
  g.trackedValid.set(backend.published().rejected ? 0 : 1);
  const health = backend.health?.() ?? { status: "ok", problems: [] };
  g.degraded.set(health.status === "ok" ? 0 : 1);
  const active = new Set(health.problems.map((p) => p.problem));
  for (const problem of problemNames) g.healthProblem.set({ problem }, active.has(problem) ? 1 : 0);
  const desired = new Map<string, DesiredState | undefined>();
  const statuses = new Map<string, NodeStatus | null>();
  const vouched = new Set<string>();
  for (const n of backend.nodes()) {
    const node = n.node;
    const doc = backend.desired(node);
    const live = n.liveness;
    // Without a verdict (backends that judge none) the report is taken as it is.
    const alive = !live || live.state === "alive";
    if (alive) vouched.add(node);
    desired.set(node, doc);
    statuses.set(node, n.status);
    // A phase nobody can vouch for (stale or lost node) is not shown as current: all 0.
    const phase = alive ? n.status?.phase : undefined;
    if (n.status) for (const p of phases) g.nodeStatus.set({ node, phase: p }, p === phase ? 1 : 0);
    const last = live ? live.lastSeen : (contacts?.lastSeen(node, now) ?? n.lastSeen);
    if (last !== null && last > 0) g.nodeLastSeen.set({ node }, last / 1000);
    if (live) {
      for (const s of livenesses) g.nodeLiveness.set({ node, state: s }, s === live.state ? 1 : 0);
      g.nodeLivenessSince.set({ node }, live.since / 1000);
    }
    const inSync = alive && doc !== undefined && n.status?.appliedHash === doc.hash && phase === "converged";
    g.nodeInSync.set({ node }, inSync ? 1 : 0);
  }
  for (const a of appNodes(desired, statuses)) {
    const labels = { app: a.app, node: a.node };
    g.appDesired.set(labels, a.desired);
    if (!vouched.has(a.node)) continue;
    g.appHealthy.set(labels, a.healthy);
    g.appUnhealthy.set(labels, a.unhealthy);
    g.appCrashLooping.set(labels, a.crashLooping.length);
    g.appInSync.set(labels, a.desiredRevision === a.servingRevision && a.healthy === a.desired ? 1 : 0);
    g.appRevision.set({ ...labels, desired: a.desiredRevision ?? "", serving: a.servingRevision ?? "" }, 1);
  }
}

export const scrapeGauges = { create, refresh };

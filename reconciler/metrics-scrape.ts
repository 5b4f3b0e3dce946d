// The reconciler's per-node and per-app gauges, rebuilt from the backend on every scrape so that
// nodes and apps removed from the config disappear from the series. Values come from the served
// desired documents and the agents' last reports (core/status/app-nodes.ts); nothing is counted
// here. See docs/api.md for each series.
import { Gauge, type Registry } from "prom-client";
import { livenessOf } from "../core/alerts/liveness.js";
import { appNodes } from "../core/status/app-nodes.js";
import type { DesiredState, NodeStatus } from "../schema/index.js";
import type { ApiBackend } from "./contracts.js";

const phases = ["converged", "applying", "degraded", "failed"] as const;
const livenesses = ["alive", "stale", "lost"] as const;
/** Process start: a node never seen is measured from here (see core/alerts/liveness.ts). */
const startedAt = Date.now();

type AppNodeLabels = "app" | "node";

export interface ScrapeGauges {
  nodeStatus: Gauge<"node" | "phase">;
  nodeLastSeen: Gauge<"node">;
  nodeLiveness: Gauge<"node" | "state">;
  nodeInSync: Gauge<"node">;
  trackedValid: Gauge;
  appDesired: Gauge<AppNodeLabels>;
  appHealthy: Gauge<AppNodeLabels>;
  appUnhealthy: Gauge<AppNodeLabels>;
  appCrashLooping: Gauge<AppNodeLabels>;
  appInSync: Gauge<AppNodeLabels>;
  appRevision: Gauge<AppNodeLabels | "desired" | "serving">;
  alertsOpen: Gauge<"rule">;
}

type Backend = Pick<ApiBackend, "nodes" | "desired" | "published">;

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
      "When the node's agent last called the API (unix seconds)",
      ["node"],
    ),
    nodeLiveness: g(
      "berth_node_liveness",
      "Liveness of the node's agent (1 for the current state of alive, stale, lost; 0 for the others)",
      ["node", "state"],
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
  };
}

function refresh(
  g: ScrapeGauges,
  backend: Backend,
  seen: ReadonlyMap<string, number> | undefined,
  now: number,
) {
  for (const gauge of [g.nodeStatus, g.nodeLastSeen, g.nodeLiveness, g.nodeInSync]) gauge.reset();
  for (const gauge of [
    g.appDesired,
    g.appHealthy,
    g.appUnhealthy,
    g.appCrashLooping,
    g.appInSync,
    g.appRevision,
  ])
    gauge.reset();
  g.trackedValid.set(backend.published().rejected ? 0 : 1);
  const desired = new Map<string, DesiredState | undefined>();
  const statuses = new Map<string, NodeStatus | null>();
  for (const n of backend.nodes()) {
    const node = n.node;
    const doc = backend.desired(node);
    desired.set(node, doc);
    statuses.set(node, n.status);
    const phase = n.status?.phase;
    if (phase) for (const p of phases) g.nodeStatus.set({ node, phase: p }, p === phase ? 1 : 0);
    const last = Math.max(n.lastSeen ?? 0, seen?.get(node) ?? 0);
    if (last > 0) g.nodeLastSeen.set({ node }, last / 1000);
    const state = livenessOf({ ...n, lastSeen: last > 0 ? last : null }, now, startedAt);
    for (const s of livenesses) g.nodeLiveness.set({ node, state: s }, s === state ? 1 : 0);
    const inSync = doc !== undefined && n.status?.appliedHash === doc.hash && phase === "converged";
    g.nodeInSync.set({ node }, inSync ? 1 : 0);
  }
  for (const a of appNodes(desired, statuses)) {
    const labels = { app: a.app, node: a.node };
    g.appDesired.set(labels, a.desired);
    g.appHealthy.set(labels, a.healthy);
    g.appUnhealthy.set(labels, a.unhealthy);
    g.appCrashLooping.set(labels, a.crashLooping.length);
    g.appInSync.set(labels, a.desiredRevision === a.servingRevision && a.healthy === a.desired ? 1 : 0);
    g.appRevision.set({ ...labels, desired: a.desiredRevision ?? "", serving: a.servingRevision ?? "" }, 1);
  }
}

export const scrapeGauges = { create, refresh };

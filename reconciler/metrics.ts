// Prometheus metrics of the reconciler, on a registry of their own (never prom-client's global
// one, so several servers in one process, as in tests, do not collide). Values that the backend
// already knows (generation, node phases) are read from it at scrape time; counters are bumped by
// the HTTP layer; publish latency comes from `published` events. Does not serve HTTP itself.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ApiBackend, BerthEvent } from "./contracts.js";
import type { ContactBook } from "./liveness/contacts.js";

export type WebhookResult =
  | "accepted" // push to the tracked branch: a reconcile was triggered
  | "ignored" // valid delivery that asks for nothing (other branch, tag, other event)
  | "ping"
  | "pull_request"
  | "duplicate"
  | "unauthorized" // missing or bad signature, or no secret configured
  | "too_large"
  | "bad_request";

export type StatusPutResult = "ok" | "invalid" | "too_large" | "unauthorized" | "forbidden" | "not_found";

const phases = ["converged", "applying", "degraded", "failed"] as const;
const livenessStates = ["alive", "stale", "lost"] as const;

export interface Metrics {
  readonly registry: Registry;
  readonly generation: Gauge;
  readonly publishLatency: Histogram;
  readonly webhooks: Counter<"forge" | "result">;
  readonly agentsConnected: Gauge;
  readonly nodeStatus: Gauge<"node" | "phase">;
  readonly nodeLastSeen: Gauge<"node">;
  readonly nodeLiveness: Gauge<"node" | "state">;
  readonly nodeLivenessSince: Gauge<"node">;
  readonly statusPuts: Counter<"result">;
  readonly httpRequests: Counter<"route" | "code">;
  /** Records one publish, from detection of the commit to the documents being served. */
  observePublish(seconds: number): void;
  /** Feeds `published` events (data.generation, data.latencyMs) into the gauges. */
  observeEvent(event: BerthEvent): void;
  /**
   * Reads generation, per-node phases and liveness from the backend (called before each scrape);
   * `contacts` supplies lastSeen for backends that judge no liveness.
   */
  refresh(backend: ApiBackend, contacts?: ContactBook): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(opts: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: "berth_process_" });

  const generation = new Gauge({
    name: "berth_generation",
    help: "Generation of the desired state currently served",
    registers,
  });
  const publishLatency = new Histogram({
    name: "berth_publish_latency_seconds",
    help: "Time from noticing a commit to serving its desired state",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const webhooks = new Counter({
    name: "berth_webhooks_total",
    help: "Webhook deliveries by forge and result",
    labelNames: ["forge", "result"] as const,
    registers,
  });
  const agentsConnected = new Gauge({
    name: "berth_agents_connected",
    help: "Agents currently waiting in a long-poll for their desired state",
    registers,
  });
  const nodeStatus = new Gauge({
    name: "berth_node_status",
    help: "Last reported phase per node (1 for the current phase, 0 for the others)",
    labelNames: ["node", "phase"] as const,
    registers,
  });
  const nodeLastSeen = new Gauge({
    name: "berth_node_last_seen_timestamp_seconds",
    help: "Last moment the reconciler knew the node's agent was there (unix seconds; now while a long-poll is held)",
    labelNames: ["node"] as const,
    registers,
  });
  const nodeLiveness = new Gauge({
    name: "berth_node_liveness",
    help: "Liveness verdict per node (1 for the current state of alive, stale, lost; 0 for the others)",
    labelNames: ["node", "state"] as const,
    registers,
  });
  const nodeLivenessSince = new Gauge({
    name: "berth_node_liveness_since_timestamp_seconds",
    help: "When the node entered its current liveness state (unix seconds)",
    labelNames: ["node"] as const,
    registers,
  });
  const statusPuts = new Counter({
    name: "berth_status_reports_total",
    help: "PUT /v1/nodes/{node}/status requests by result",
    labelNames: ["result"] as const,
    registers,
  });
  const httpRequests = new Counter({
    name: "berth_http_requests_total",
    help: "HTTP requests by route and status code",
    labelNames: ["route", "code"] as const,
    registers,
  });

  const observePublish = (seconds: number): void => {
    if (Number.isFinite(seconds) && seconds >= 0) publishLatency.observe(seconds);
  };

  return {
    registry,
    generation,
    publishLatency,
    webhooks,
    agentsConnected,
    nodeStatus,
    nodeLastSeen,
    nodeLiveness,
    nodeLivenessSince,
    statusPuts,
    httpRequests,
    observePublish,
    observeEvent(event) {
      if (event.type !== "published") return;
      const { generation: gen, latencyMs } = event.data;
      if (typeof gen === "number") generation.set(gen);
      if (typeof latencyMs === "number") observePublish(latencyMs / 1000);
    },
    refresh(backend, contacts) {
      generation.set(backend.published().generation);
      // Rebuilt on each scrape so nodes removed from the config disappear from the series.
      nodeStatus.reset();
      nodeLastSeen.reset();
      nodeLiveness.reset();
      nodeLivenessSince.reset();
      const now = Date.now();
      for (const n of backend.nodes()) {
        const live = n.liveness;
        // A phase nobody can vouch for (stale or lost node) is not shown as current: all 0.
        const phase = !live || live.state === "alive" ? n.status?.phase : undefined;
        if (n.status) for (const p of phases) nodeStatus.set({ node: n.node, phase: p }, p === phase ? 1 : 0);
        const last = live ? live.lastSeen : (contacts?.lastSeen(n.node, now) ?? n.lastSeen);
        if (last !== null && last > 0) nodeLastSeen.set({ node: n.node }, last / 1000);
        if (live) {
          for (const st of livenessStates)
            nodeLiveness.set({ node: n.node, state: st }, st === live.state ? 1 : 0);
          nodeLivenessSince.set({ node: n.node }, live.since / 1000);
        }
      }
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

// Prometheus metrics of the reconciler, on a registry of their own (never prom-client's global
// one, so several servers in one process, as in tests, do not collide). Counters and histograms
// are bumped as things happen (HTTP layer, LoopObserver calls from the loop, events); per-node and
// per-app gauges are rebuilt from the backend at scrape time (metrics-scrape.ts). Names follow
// Prometheus conventions (units in names, `_total` only on counters) and pass `promtool check
// metrics` (test/reconciler/metrics-promtool.test.ts). Does not serve HTTP itself.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BerthEvent, LoopObserver } from "./contracts.js";
import type { ContactBook } from "./liveness/contacts.js";
import { type ScrapeGauges, scrapeGauges } from "./metrics-scrape.js";

export type WebhookResult =
  | "accepted" // push to the tracked branch: a reconcile was triggered
  | "ignored" // valid delivery that asks for nothing (other branch, tag, other event)
  | "ping"
  | "pull_request"
  | "duplicate"
  | "unauthorized" // missing or bad signature, or no secret configured
  | "too_large"
  | "busy" // more deliveries at once than bodies are read; 503, body not read
  | "timeout" // the body did not arrive within its deadline; 408
  | "bad_request";

export type StatusPutResult = "ok" | "invalid" | "too_large" | "unauthorized" | "forbidden" | "not_found";

/**
 * prom-client's default metrics that break Prometheus naming: gauges named `…_total` (promtool:
 * "non-counter metrics should not have _total suffix"). Their unsuffixed twins stay.
 */
const misnamedDefaults = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** Seconds; from a 5 ms reconcile of a small repo to a minute-long one of a 10,000-app repo. */
const durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface Metrics extends LoopObserver {
  readonly registry: Registry;
  readonly generation: Gauge;
  readonly publishLatency: Histogram;
  readonly webhooks: Counter<"forge" | "result">;
  readonly agentsConnected: Gauge;
  readonly statusPuts: Counter<"result">;
  readonly httpRequests: Counter<"route" | "code">;
  /** Alert notifications by receiver and result (reconciler/alerts). */
  readonly alertNotifications: Counter<"receiver" | "result">;
  /** Open connections per listener (reconciler/http/guard.ts). */
  readonly connectionsOpen: Gauge<"listener">;
  /** Connections closed at once because a cap was reached, per listener and reason. */
  readonly connectionsRefused: Counter<"listener" | "reason">;
  readonly gauges: ScrapeGauges;
  /** Records one publish, from detection of the commit to the documents being served. */
  observePublish(seconds: number): void;
  /** Feeds `published` (generation, latency) and `node-reported` (deploy outcomes) events. */
  observeEvent(event: BerthEvent): void;
  /**
   * Rebuilds the per-node and per-app gauges from the backend (called before each scrape);
   * `contacts` supplies lastSeen for backends that judge no liveness.
   */
  refresh(backend: Parameters<typeof scrapeGauges.refresh>[1], contacts?: ContactBook, now?: number): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(opts: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics !== false) {
    // Unprefixed, as every Prometheus client names them (process_*, nodejs_*): dashboards and
    // recording rules written for any Node service work unchanged. The `job` label tells berth's apart.
    collectDefaultMetrics({ register: registry });
    for (const name of misnamedDefaults) registry.removeSingleMetric(name);
  }

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
  const publishDuration = new Histogram({
    name: "berth_publish_duration_seconds",
    help: "Time to write one generation's desired commit and move the desired branch (push in remote mode)",
    buckets: durationBuckets,
    registers,
  });
  const reconcileDuration = new Histogram({
    name: "berth_reconcile_duration_seconds",
    help: "Duration of one reconcile run (fetch, load, plan, publish) by outcome",
    labelNames: ["outcome"] as const,
    buckets: durationBuckets,
    registers,
  });
  const gitFetches = new Counter({
    name: "berth_git_fetches_total",
    help: "Fetches of the config repo's branches (remote mode) by branch role and result",
    labelNames: ["branch", "result"] as const,
    registers,
  });
  const gitPushes = new Counter({
    name: "berth_git_pushes_total",
    help: "Compare-and-swap branch moves (push in remote mode) by branch role and result",
    labelNames: ["branch", "result"] as const,
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
  const deploys = new Counter({
    name: "berth_deploys_total",
    help: "Documents that nodes finished applying, by node and outcome (succeeded: converged on it; failed: the agent gave up on it)",
    labelNames: ["node", "outcome"] as const,
    registers,
  });
  const alertNotifications = new Counter({
    name: "berth_alert_notifications_total",
    help: "Alert notifications by receiver and delivery result (delivered, retried, dropped)",
    labelNames: ["receiver", "result"] as const,
    registers,
  });
  const connectionsOpen = new Gauge({
    name: "berth_http_connections_open",
    help: "Open connections per listener (api, webhooks)",
    labelNames: ["listener"] as const,
    registers,
  });
  const connectionsRefused = new Counter({
    name: "berth_http_connections_refused_total",
    help: "Connections closed because a cap was reached (reason: per_client, total, evicted: an idle one closed for a newcomer)",
    labelNames: ["listener", "reason"] as const,
    registers,
  });
  const gauges = scrapeGauges.create(registers);

  /** node → the document hash whose outcome was counted last, so a report repeated is not counted twice. */
  const counted = new Map<string, string>();

  const observePublish = (seconds: number): void => {
    if (Number.isFinite(seconds) && seconds >= 0) publishLatency.observe(seconds);
  };
  const observeReport = (data: Record<string, unknown>): void => {
    const { node, phase, appliedHash, desiredHash } = data;
    if (typeof node !== "string") return;
    let outcome: "succeeded" | "failed" | null = null;
    let hash: unknown = null;
    if (phase === "converged" && typeof appliedHash === "string")
      [outcome, hash] = ["succeeded", appliedHash];
    else if (phase === "failed" && typeof desiredHash === "string") [outcome, hash] = ["failed", desiredHash];
    if (!outcome) return;
    const key = `${outcome}:${hash}`;
    if (counted.get(node) === key) return;
    // The outcome a node started with (seeded from the status branch) is not a deploy of this process.
    const first = !counted.has(node);
    counted.set(node, key);
    if (!first || outcome === "failed") deploys.inc({ node, outcome });
  };

  return {
    registry,
    generation,
    publishLatency,
    webhooks,
    agentsConnected,
    statusPuts,
    httpRequests,
    alertNotifications,
    connectionsOpen,
    connectionsRefused,
    gauges,
    observePublish,
    observeEvent(event) {
      if (event.type === "node-reported") return observeReport(event.data);
      if (event.type !== "published") return;
      const { generation: gen, latencyMs } = event.data;
      if (typeof gen === "number") generation.set(gen);
      if (typeof latencyMs === "number") observePublish(latencyMs / 1000);
    },
    reconciled(outcome, seconds) {
      reconcileDuration.observe({ outcome }, seconds);
    },
    published(seconds) {
      publishDuration.observe(seconds);
    },
    fetched(branch, result) {
      gitFetches.inc({ branch, result });
    },
    pushed(branch, result) {
      gitPushes.inc({ branch, result });
    },
    refresh(backend, contacts, now = Date.now()) {
      generation.set(backend.published().generation);
      scrapeGauges.refresh(gauges, backend, contacts, now);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

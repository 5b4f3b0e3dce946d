// The reconciler's /metrics over real HTTP, with prom-client's process metrics on and every berth
// series populated, passes `promtool check metrics` (Prometheus' linter); and the per-app and
// per-node gauges say what the backend holds.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createMetrics } from "../../reconciler/metrics.js";
import type { Workload } from "../../schema/index.js";
import { checkMetrics } from "../helpers/promtool.js";
import { requireTool } from "../helpers/tools.js";
import { type Harness, startHarness } from "./http/harness.js";
import { makeDoc, makeStatus } from "./http/memory-backend.js";

const havePromtool = requireTool("promtool", ["--version"]);
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const workload = (app: string, replica: number, spec: string): Workload =>
  ({
    id: `${app}-${replica}`,
    app,
    replica,
    runtime: "process",
    command: ["true"],
    env: {},
    hostPort: 20_000 + replica,
    health: {
      intervalSeconds: 5,
      timeoutSeconds: 2,
      startPeriodSeconds: 0,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    },
    volumes: [],
    strategy: "start-first",
    specHash: `sha256:${sha(`${app}-${replica}-${spec}`)}`,
  }) as Workload;

async function populated(): Promise<Harness> {
  const harness = await startHarness({ metrics: createMetrics() });
  const doc = makeDoc("node-a", "v1");
  doc.workloads = [workload("web", 0, "v2"), workload("web", 1, "v2"), workload("api", 0, "v1")];
  harness.backend.publish([doc, makeDoc("node-b", "v1")], { "node-a": sha("ta") });
  harness.backend.statuses.set(
    "node-a",
    makeStatus("node-a", {
      phase: "degraded",
      desiredHash: doc.hash,
      workloads: [
        {
          id: "web-0",
          app: "web",
          state: "running",
          health: "healthy",
          specHash: doc.workloads[0]?.specHash ?? null,
        },
        {
          id: "web-1",
          app: "web",
          state: "failed",
          health: "unhealthy",
          specHash: doc.workloads[1]?.specHash ?? null,
          operation: {
            status: "failed",
            step: "start web-1",
            attempt: 3,
            retryable: true,
            lastError: "exit 1",
          },
        },
        {
          id: "api-0",
          app: "api",
          state: "running",
          health: "healthy",
          specHash: doc.workloads[2]?.specHash ?? null,
        },
      ],
    }),
  );
  const now = Date.now();
  harness.backend.liveness.set("node-a", {
    state: "alive",
    since: now - 60_000,
    lastSeen: now,
    message: "ok",
  });
  harness.backend.liveness.set("node-b", {
    state: "lost",
    since: now - 5_000,
    lastSeen: now - 90_000,
    message: "gone",
  });
  const b = makeDoc("node-b", "v1");
  b.workloads = [workload("web", 5, "v2")];
  harness.backend.docs.set("node-b", b);
  harness.backend.statuses.set(
    "node-b",
    makeStatus("node-b", { phase: "converged", appliedHash: b.hash, desiredHash: b.hash }),
  );
  harness.events.emit("published", { generation: 7, latencyMs: 12 });
  harness.events.emit("node-reported", { node: "node-a", phase: "converged", appliedHash: "sha256:1" });
  harness.events.emit("node-reported", { node: "node-a", phase: "failed", desiredHash: doc.hash });
  harness.metrics.reconciled("published", 0.02);
  harness.metrics.published(0.01);
  harness.metrics.pushed("desired", "ok");
  harness.metrics.fetched("tracked", "error", "connection refused");
  harness.metrics.alertNotifications.inc({ receiver: "ops", result: "delivered" });
  harness.metrics.gauges.alertsOpen.set({ rule: "node-lost" }, 1);
  harness.metrics.webhooks.inc({ forge: "github", result: "accepted" });
  await harness.call("GET", "/v1/nodes/node-a/desired", { headers: { authorization: "Bearer ta" } });
  return harness;
}

describe("reconciler /metrics", () => {
  it.skipIf(!havePromtool)(
    "passes promtool check metrics with process metrics and every series populated",
    async () => {
      h = await populated();
      const text = (await h.call("GET", "/metrics")).text;
      expect(text).toContain("process_cpu_seconds_total");
      expect(text).toContain("nodejs_heap_size_used_bytes");
      expect(text).not.toMatch(/berth_process_/);
      const verdict = checkMetrics(text);
      expect(verdict.output).toBe("");
      expect(verdict.ok).toBe(true);
    },
  );

  it.skipIf(!havePromtool)(
    "promtool catches what prom-client's prefixed defaults did (the check can fail)",
    () => {
      const bad = "# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n";
      expect(checkMetrics(bad).ok).toBe(false);
    },
  );

  it("says desired vs serving per app and node, sync, liveness, validity and deploy outcomes", async () => {
    h = await populated();
    const text = (await h.call("GET", "/metrics")).text;
    expect(text).toContain('berth_app_desired_instances{app="web",node="node-a"} 2');
    expect(text).toContain('berth_app_healthy_instances{app="web",node="node-a"} 1');
    expect(text).toContain('berth_app_unhealthy_instances{app="web",node="node-a"} 1');
    expect(text).toContain('berth_app_in_sync{app="web",node="node-a"} 0');
    expect(text).toContain('berth_app_in_sync{app="api",node="node-a"} 1');
    const rev =
      /berth_app_revision_info\{app="api",node="node-a",desired="([0-9a-f]{12})",serving="([0-9a-f]{12})"\} 1/.exec(
        text,
      );
    expect(rev?.[1]).toBe(rev?.[2]);
    expect(text).toMatch(
      /berth_app_revision_info\{app="web",node="node-a",desired="[0-9a-f]{12}",serving="[0-9a-f]{12}"\} 1/,
    );
    expect(text).toContain('berth_node_liveness{node="node-a",state="alive"} 1');
    // A lost node's report is not vouched for: phase all 0, not in sync, its apps only desired.
    expect(text).toContain('berth_node_liveness{node="node-b",state="lost"} 1');
    expect(text).toContain('berth_node_status{node="node-b",phase="converged"} 0');
    expect(text).toContain('berth_node_in_sync{node="node-b"} 0');
    expect(text).toContain('berth_app_desired_instances{app="web",node="node-b"} 1');
    expect(text).not.toContain('berth_app_healthy_instances{app="web",node="node-b"}');
    expect(text).not.toContain('berth_app_in_sync{app="web",node="node-b"}');
    expect(text).toContain('berth_node_in_sync{node="node-a"} 0');
    expect(text).toContain("berth_tracked_commit_valid 1");
    expect(text).toContain('berth_deploys_total{node="node-a",outcome="failed"} 1');
    expect(text).toContain('berth_reconcile_duration_seconds_count{outcome="published"} 1');
    expect(text).toContain("berth_publish_duration_seconds_count 1");
    expect(text).toContain('berth_git_pushes_total{branch="desired",result="ok"} 1');
    expect(text).toContain('berth_git_fetches_total{branch="tracked",result="error"} 1');
    expect(text).toContain('berth_alerts_open{rule="node-lost"} 1');
  });
});

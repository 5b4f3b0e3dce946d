// The read API over real HTTP: /healthz, /metrics, /v1/nodes, /v1/plan, the optional admin token,
// and 404/405 for unknown routes and methods.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { Plan } from "../../../schema/index.js";
import { type Harness, startHarness } from "./harness.js";
import { makeDoc, makeStatus } from "./memory-backend.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
let h: Harness;
afterEach(async () => {
  await h.close();
});

const emptyPlan = (head: string | null): Plan => ({
  formatVersion: 1,
  base: { ref: null, commit: null },
  head: { ref: head, commit: null },
  valid: true,
  errors: [],
  resources: [],
  nodes: [],
  summary: { add: 0, change: 0, remove: 0 },
});

describe("open routes", () => {
  it("GET /healthz reports the generation served", async () => {
    h = await startHarness();
    expect((await h.call("GET", "/healthz")).json()).toEqual({
      status: "ok",
      problems: [],
      generation: 0,
      commit: null,
      desiredCommit: null,
    });
    h.backend.publish([makeDoc("node-a", "v1")]);
    expect((await h.call("GET", "/healthz")).json()).toMatchObject({ generation: 1, commit: "b".repeat(40) });
  });

  it("GET /metrics has every series in Prometheus text", async () => {
    h = await startHarness();
    h.backend.publish([makeDoc("node-a", "v1"), makeDoc("node-b", "v1")], { "node-a": sha("ta") });
    h.backend.statuses.set("node-a", makeStatus("node-a", { phase: "degraded" }));
    h.events.emit("published", { generation: 7, latencyMs: 12 });
    await h.call("GET", "/v1/nodes/node-a/desired", { headers: { authorization: "Bearer ta" } });
    const res = await h.call("GET", "/metrics");
    expect(res.status).toBe(200);
    expect(String(res.headers["content-type"])).toMatch(/^text\/plain/);
    const text = res.text;
    expect(text).toContain("berth_generation 1");
    expect(text).toMatch(/berth_publish_latency_seconds_count 1/);
    expect(text).toMatch(/berth_publish_latency_seconds_bucket\{le="0.025"\} 1/);
    expect(text).toContain("# TYPE berth_webhooks_total counter");
    expect(text).toContain("berth_agents_connected 0");
    expect(text).toContain('berth_node_status{node="node-a",phase="degraded"} 1');
    expect(text).toContain('berth_node_status{node="node-a",phase="converged"} 0');
    expect(text).not.toContain('berth_node_status{node="node-b"');
    expect(text).toMatch(/berth_node_last_seen_timestamp_seconds\{node="node-a"\} \d+/);
    expect(text).toContain("# TYPE berth_status_reports_total counter");
    expect(text).toMatch(/berth_http_requests_total\{route="desired",code="200"\} 1/);
  });

  it("answers 404 JSON for an unknown route and 405 with Allow for a wrong method", async () => {
    h = await startHarness();
    const missing = await h.call("GET", "/v2/nothing");
    expect(missing.status).toBe(404);
    expect(missing.json().error).toBe("no route GET /v2/nothing");
    const wrong = await h.call("POST", "/healthz");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe("GET, HEAD");
    expect((await h.call("DELETE", "/v1/nodes/a/status")).headers.allow).toBe("PUT");
  });
});

describe("GET /v1/nodes", () => {
  it("lists nodes with lastSeen, phase, their last status and whether they run the served document", async () => {
    h = await startHarness();
    const a = makeDoc("node-a", "v1");
    h.backend.publish([a, makeDoc("node-b", "v1")], { "node-a": sha("ta") });
    const statusA = makeStatus("node-a", { appliedHash: a.hash, phase: "converged" });
    h.backend.statuses.set("node-a", statusA);
    await h.call("GET", "/v1/nodes/node-a/desired", { headers: { authorization: "Bearer ta" } });
    const body = (await h.call("GET", "/v1/nodes")).json();
    expect(body.generation).toBe(1);
    expect(body.published).toMatchObject({ generation: 1 });
    expect(body.nodes).toEqual([
      {
        node: "node-a",
        lastSeen: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        // This fake backend judges no liveness; the reconciler's does (reconciler/liveness.test.ts).
        liveness: null,
        livenessSince: null,
        livenessMessage: null,
        phase: "converged",
        reportedPhase: "converged",
        desiredHash: a.hash,
        appliedHash: a.hash,
        inSync: true,
        desired: { hash: a.hash, commit: a.source.commit, workloads: [], routes: 0 },
        status: statusA,
      },
      {
        node: "node-b",
        lastSeen: null,
        liveness: null,
        livenessSince: null,
        livenessMessage: null,
        phase: null,
        reportedPhase: null,
        desiredHash: makeDoc("node-b", "v1").hash,
        appliedHash: null,
        inSync: false,
        desired: expect.objectContaining({ hash: makeDoc("node-b", "v1").hash }),
        status: null,
      },
    ]);
  });
});

describe("GET /v1/plan", () => {
  it("returns the backend's plan for base and head", async () => {
    h = await startHarness();
    const asked: unknown[] = [];
    h.backend.planImpl = async (base, head) => {
      asked.push([base, head]);
      return emptyPlan(head ?? null);
    };
    const res = await h.call("GET", "/v1/plan?base=abc&head=main");
    expect(res.status).toBe(200);
    expect(res.json()).toEqual(emptyPlan("main"));
    await h.call("GET", "/v1/plan");
    expect(asked).toEqual([
      ["abc", "main"],
      [undefined, undefined],
    ]);
  });

  it("answers 400 with the reason for an unknown ref, 500 for a failure of ours", async () => {
    h = await startHarness();
    h.backend.planImpl = async (_b, head) => {
      if (head === "nope") throw Object.assign(new Error("Could not find nope."), { code: "NotFoundError" });
      throw new Error("disk on fire");
    };
    const bad = await h.call("GET", "/v1/plan?head=nope");
    expect(bad.status).toBe(400);
    expect(bad.json().error).toContain("Could not find nope.");
    h.backend.planImpl = async (base) => {
      if (base === "zzz")
        throw Object.assign(new Error('ref "zzz" not in the repo'), {
          code: "ref-not-found",
          hint: "fetch it first",
        });
      throw new Error("disk on fire");
    };
    const repoError = await h.call("GET", "/v1/plan?base=zzz");
    expect(repoError.status).toBe(400);
    expect(repoError.json().error).toContain('ref "zzz" not in the repo (fetch it first)');
    const broken = await h.call("GET", "/v1/plan?head=main");
    expect(broken.status).toBe(500);
    expect(broken.json().error).toContain("disk on fire");
  });
});

describe("admin token (--api-token-file)", () => {
  it("protects /v1/nodes, /v1/plan and /v1/events but not /healthz and /metrics", async () => {
    h = await startHarness({ apiToken: "admin-token-xyz" });
    h.backend.planImpl = async () => emptyPlan(null);
    for (const path of ["/v1/nodes", "/v1/plan", "/v1/events"]) {
      const none = await h.call("GET", path);
      expect(none.status, path).toBe(401);
      expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect((await h.call("GET", path, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    }
    expect(
      (await h.call("GET", "/v1/nodes", { headers: { authorization: "Bearer admin-token-xyz" } })).status,
    ).toBe(200);
    expect(
      (await h.call("GET", "/v1/plan", { headers: { authorization: "Bearer admin-token-xyz" } })).status,
    ).toBe(200);
    expect((await h.call("GET", "/healthz")).status).toBe(200);
    expect((await h.call("GET", "/metrics")).status).toBe(200);
    expect(h.logLines.join("\n")).not.toContain("admin-token-xyz");
  });

  it("is not accepted as a node token", async () => {
    h = await startHarness({ apiToken: "admin-token-xyz" });
    h.backend.publish([makeDoc("node-a", "v1")], { "node-a": sha("ta") });
    const res = await h.call("GET", "/v1/nodes/node-a/desired", {
      headers: { authorization: "Bearer admin-token-xyz" },
    });
    expect(res.status).toBe(401);
  });
});

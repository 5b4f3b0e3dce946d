// The operations page's view-models (core/views/ops): attention order, health apart from
// convergence, unknown for whatever is not reported or not vouched for, paging, history rows.
import { describe, expect, it } from "vitest";
import {
  appPage,
  commitUrl,
  type GenerationInput,
  historyRows,
  instancesOf,
  type NodeInput,
  nodePage,
  type OpsInput,
  overview,
} from "../../core/views/ops/index.js";
import type { DesiredState, Plan, Workload } from "../../schema/index.js";

const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const spec = (app: string, v: number) => `sha256:${`${app}${v}`.padEnd(64, "0")}`;

function workload(app: string, replica: number, v = 1): Workload {
  return {
    id: `${app}-${replica}`,
    app,
    replica,
    runtime: "process",
    command: ["x"],
    env: {},
    hostPort: 20000 + replica,
    health: {
      intervalSeconds: 2,
      timeoutSeconds: 2,
      startPeriodSeconds: 30,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    },
    volumes: [],
    strategy: "start-first",
    specHash: spec(app, v),
  };
}

function doc(node: string, workloads: Workload[], commit = C2): DesiredState {
  return {
    apiVersion: "berth/v1",
    node,
    source: { branch: "main", commit },
    hash: `sha256:${node.padEnd(64, "f")}`,
    workloads,
    routes: [],
  };
}

type Rep = NonNullable<NodeInput["status"]>["workloads"][number];
function node(
  name: string,
  workloads: Workload[],
  reports: Rep[] | null,
  extra: Partial<NodeInput> = {},
): NodeInput {
  const d = doc(name, workloads);
  return {
    node: name,
    lastSeen: "2025-01-01T00:00:00.000Z",
    liveness: "alive",
    desired: d,
    status:
      reports === null
        ? null
        : {
            node: name,
            agentVersion: "0.1.0",
            desiredHash: d.hash,
            appliedHash: d.hash,
            appliedCommit: C2,
            phase: "converged",
            workloads: reports,
            ingress: null,
          },
    ...extra,
  };
}

const ok = (w: Workload): Rep => ({
  id: w.id,
  app: w.app,
  state: "running",
  health: "healthy",
  specHash: w.specHash,
  hostPort: w.hostPort,
  restarts: 0,
});

function input(nodes: NodeInput[]): OpsInput {
  return {
    now: Date.parse("2025-01-01T00:00:10.000Z"),
    trackedBranch: "main",
    published: { generation: 2, commit: C2, desiredCommit: "d".repeat(40), rejected: null },
    tip: null,
    nodes,
    deploys: new Map([["web", { generation: 2, at: "2025-01-01T00:00:00.000Z", commit: C2 }]]),
  };
}

describe("overview view-model", () => {
  it("puts a failing app first with its cause, keeps its health (the old version serves) apart from convergence", () => {
    const web = workload("web", 0, 2);
    const api = workload("api", 0);
    const old = { ...ok(web), specHash: spec("web", 1) };
    const failing: Rep = {
      ...old,
      operation: {
        status: "backoff",
        step: "replace web-0: image a:1 -> a:2",
        attempt: 3,
        retryable: true,
        lastError: "new instance never became healthy: GET /healthz: HTTP 503\nmore",
        nextAttemptAt: "2025-01-01T00:01:00.000Z",
      },
    };
    const m = overview(input([node("n1", [api, web], [ok(api), failing])]));
    expect(m.apps.map((a) => a.app)).toEqual(["web", "api"]);
    const row = m.apps[0]!;
    expect(row).toMatchObject({
      attention: "failing",
      sync: "failing",
      health: "healthy",
      healthy: 1,
      desired: 1,
    });
    expect(row.failing).toMatchObject({
      attempt: 3,
      nextAttemptAt: "2025-01-01T00:01:00.000Z",
      step: "replace web-0: image a:1 -> a:2",
    });
    expect(row.lastError).toBe("new instance never became healthy: GET /healthz: HTTP 503");
    expect(row.lastDeploy).toMatchObject({ generation: 2, result: "failed" });
    expect(m.apps[1]).toMatchObject({ app: "api", attention: "ok", sync: "converged", health: "healthy" });
    expect(m.counts).toMatchObject({ apps: 2, appsAttention: 1 });
  });

  it("counts the previous version as serving when a replace failed (state failed, health of the old one)", () => {
    const w = workload("web", 0, 2);
    const failedReplace: Rep = {
      ...ok(w),
      specHash: spec("web", 1),
      state: "failed",
      health: "healthy",
      operation: {
        status: "backoff",
        step: "replace web-0",
        attempt: 2,
        retryable: true,
        lastError: "new instance never became healthy",
      },
    };
    const stopped: Rep = { ...ok(workload("job", 0)), state: "stopped", health: "healthy" };
    const m = overview(input([node("n1", [w, workload("job", 0)], [failedReplace, stopped])]));
    expect(m.apps.find((a) => a.app === "web")).toMatchObject({
      sync: "failing",
      health: "healthy",
      healthy: 1,
    });
    expect(m.apps.find((a) => a.app === "job")).toMatchObject({ health: "unhealthy", healthy: 0 });
  });

  it("prefers a reported cause (where: message) and the exit of a crash-looping instance", () => {
    const w = workload("job", 0);
    const rep: Rep = {
      ...ok(w),
      state: "crash-looping",
      health: "unhealthy",
      restarts: 7,
      lastExit: {
        code: 1,
        signal: null,
        at: "2025-01-01T00:00:00.000Z",
        output: ["booting", "Error: Cannot find module './x'", ""],
      },
    };
    const row = overview(input([node("n1", [w], [rep])])).apps[0]!;
    expect(row).toMatchObject({ attention: "failing", health: "unhealthy", healthy: 0 });
    expect(row.lastError).toBe("exited with code 1: Error: Cannot find module './x'");
    const caused: Rep = {
      ...ok(w),
      operation: {
        status: "failed",
        step: "create job-0",
        attempt: 1,
        retryable: false,
        lastError: "x",
        cause: { where: "runtime", message: "port 20000 is taken" },
      },
    };
    expect(overview(input([node("n1", [w], [caused])])).apps[0]!.lastError).toBe(
      "runtime: port 20000 is taken",
    );
  });

  it("the node page tells the same document applied at an older commit (a rollback) from an older document", () => {
    const w = workload("web", 0);
    const n = node("n1", [w], [ok(w)]);
    const older = "1".repeat(40);
    const same = { ...n, status: { ...n.status!, appliedCommit: older } };
    expect(nodePage("n1", input([same]))).toMatchObject({ appliedCommit: older, sameDocument: true });
    const behind = { ...n, status: { ...n.status!, appliedCommit: older, appliedHash: "sha256:old" } };
    expect(nodePage("n1", input([behind]))?.sameDocument).toBe(false);
  });

  it("an instance row carries the slot and start time its agent reports", () => {
    const w = workload("web", 0);
    const rep: Rep = { ...ok(w), slot: "b", startedAt: "2025-01-01T00:00:05.000Z" };
    expect(instancesOf(node("n1", [w], [rep]))[0]).toMatchObject({
      slot: "b",
      since: "2025-01-01T00:00:05.000Z",
    });
    expect(instancesOf(node("n1", [w], [ok(w)]))[0]).toMatchObject({ slot: null, since: null });
  });

  it("shows what is not reported, or reported by a stale or lost node, as unknown — never healthy", () => {
    const a = workload("a", 0);
    const b = workload("b", 0);
    const m = overview(
      input([
        node("n1", [a], null),
        node("n2", [b], [ok(b)], { liveness: "lost", livenessSince: "2025-01-01T00:00:05.000Z" }),
      ]),
    );
    for (const row of m.apps)
      expect(row).toMatchObject({ health: "unknown", sync: "unknown", healthy: 0, attention: "unknown" });
    const lost = m.nodes.find((n) => n.node === "n2")!;
    expect(lost).toMatchObject({ attention: "failing", liveness: "lost", inSync: null, phase: "unknown" });
    expect(m.nodes[0]!.node).toBe("n2");
    // A node without liveness (an older reconciler) says unknown, not alive.
    const bare = overview(input([node("n3", [a], [ok(a)], { liveness: undefined })])).nodes[0]!;
    expect(bare).toMatchObject({
      liveness: "unknown",
      attention: "unknown",
      driftRepaired: null,
      inSync: true,
    });
  });

  it("orders diverged before unhealthy before ok, and pages and filters on the server", () => {
    const rows: Workload[] = [];
    const reps: Rep[] = [];
    for (let i = 0; i < 30; i++) {
      const w = workload(`app${String(i).padStart(2, "0")}`, 0);
      rows.push(w);
      reps.push(ok(w));
    }
    reps[5] = { ...reps[5]!, health: "unhealthy" };
    reps[9] = {
      ...reps[9]!,
      specHash: spec("old", 0),
      operation: { status: "running", step: "replace app09-0", attempt: 1, retryable: true, lastError: null },
    };
    const m = overview(input([node("n1", rows, reps)]), {}, { perPage: 10, page: 1 });
    expect(m.apps.slice(0, 2).map((a) => [a.app, a.attention])).toEqual([
      ["app09", "diverged"],
      ["app05", "unhealthy"],
    ]);
    expect(m.page).toMatchObject({ page: 1, pages: 3, matching: 30 });
    expect(
      overview(input([node("n1", rows, reps)]), {}, { perPage: 10, page: 3 }).apps.map((a) => a.app)[9],
    ).toBe("app29");
    const filtered = overview(input([node("n1", rows, reps)]), { attention: true });
    expect(filtered.apps.map((a) => a.app)).toEqual(["app09", "app05"]);
    expect(overview(input([node("n1", rows, reps)]), { q: "APP1" }).apps.map((a) => a.app)).toHaveLength(10);
  });
});

const plan = (over: Partial<Plan>): Plan => ({
  formatVersion: 1,
  base: { ref: "berth/desired", commit: C1 },
  head: { ref: "main", commit: C2 },
  valid: true,
  errors: [],
  resources: [],
  nodes: [],
  summary: { add: 0, change: 1, remove: 0 },
  ...over,
});

describe("history and app page view-models", () => {
  const gens: GenerationInput[] = [
    {
      generation: 1,
      desiredCommit: "a".repeat(40),
      at: "2025-01-01T00:00:00.000Z",
      source: { branch: "main", commit: C1, subject: "first" },
      plan: plan({ resources: [{ kind: "App", name: "web", action: "create", changes: [] }] }),
    },
    {
      generation: 2,
      desiredCommit: "b".repeat(40),
      at: "2025-01-02T00:00:00.000Z",
      source: { branch: "main", commit: C2, subject: "second" },
      plan: plan({
        resources: [
          {
            kind: "Domain",
            name: "web.example.com",
            action: "update",
            changes: [{ field: "app", before: "api", after: "web" }],
          },
        ],
        nodes: [
          {
            node: "n1",
            workloads: [
              { id: "web-0", app: "web", action: "replace", reason: "image a:1 -> a:2", changes: [] },
            ],
            routes: [],
          },
        ],
      }),
    },
  ];

  it("lists generations newest first with the exact rollback command and forge links", () => {
    const rows = historyRows(gens, 2, { kind: "gitlab", webUrl: "https://gitlab.example.com/g/config/" });
    expect(rows.map((r) => r.generation)).toEqual([2, 1]);
    expect(rows[0]).toMatchObject({ current: true, rollback: null });
    expect(rows[1]).toMatchObject({
      rollback: `berth rollback ${C1}`,
      commitUrl: `https://gitlab.example.com/g/config/-/commit/${C1}`,
    });
    expect(historyRows(gens, 2, null)[1]!.commitUrl).toBeNull();
    expect(commitUrl({ kind: "github", webUrl: "https://github.com/a/b" }, C2)).toBe(
      `https://github.com/a/b/commit/${C2}`,
    );
    expect(commitUrl({ kind: "github", webUrl: "https://github.com/a/b" }, "not a sha")).toBeNull();
  });

  it("collects the plan entries that changed an app, newest first; unknown apps have no page", () => {
    const w = workload("web", 0);
    const m = appPage("web", input([node("n1", [w], [ok(w)])]), [], gens)!;
    expect(m.changes.map((c) => c.generation)).toEqual([2, 1]);
    expect(m.changes[0]!.workloads[0]).toMatchObject({ node: "n1", change: { reason: "image a:1 -> a:2" } });
    expect(m.changes[0]!.domains[0]!.name).toBe("web.example.com");
    expect(m.instances).toHaveLength(1);
    expect(appPage("nope", input([node("n1", [w], [ok(w)])]), [], gens)).toBeNull();
  });
});

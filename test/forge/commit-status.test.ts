// Commit statuses of the tracked branch through the recording forge: berth/plan pending ->
// published / rejected, berth/deploy from agent reports (converged, failing, silent, superseded),
// statuses kept in order, rate limits waited out, and outages reported as events, never thrown.
import { afterEach, describe, expect, it } from "vitest";
import type { ForgeClient } from "../../reconciler/forge/client.js";
import { type CommitStatusReporter, createCommitStatusReporter } from "../../reconciler/pr/commit-status.js";
import { createDeployTracker } from "../../reconciler/pr/deploy-tracker.js";
import { deployVerdict } from "../../reconciler/pr/deploy-verdict.js";
import type { NodeStatus, WorkloadStatus } from "../../schema/index.js";
import { type ForgeKind, type RecordingForge, rateLimited } from "../helpers/recording-forge.js";
import { recordingForgeClient } from "./client-fixture.js";
import type { captureLog } from "./log-capture.js";

const c1 = "1111111111111111111111111111111111111111";
const c2 = "2222222222222222222222222222222222222222";

interface Setup {
  forge: RecordingForge;
  client: ForgeClient;
  reporter: CommitStatusReporter;
  events: { type: string; data: Record<string, unknown> }[];
  log: ReturnType<typeof captureLog>;
}
const open: Setup[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    await s.client.close();
    await s.forge.close();
  }
});

async function setup(kind: ForgeKind = "github"): Promise<Setup> {
  const { forge, client, log } = await recordingForgeClient(kind);
  const events: Setup["events"] = [];
  const reporter = createCommitStatusReporter(client, log.logger, {
    events: { emit: (type, data) => events.push({ type, data }) },
  });
  const s = { forge, client, reporter, events, log };
  open.push(s);
  return s;
}

function workload(id: string, over: Partial<WorkloadStatus> = {}): WorkloadStatus {
  return {
    id,
    app: id.replace(/-\d+$/, ""),
    state: "running",
    health: "healthy",
    specHash: "sha256:x",
    ...over,
  };
}
function status(node: string, hash: string, over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    node,
    agentVersion: "0.1.0",
    desiredHash: hash,
    appliedHash: hash,
    appliedCommit: c1,
    phase: "converged",
    workloads: [workload("web-0")],
    ingress: null,
    ...over,
  };
}

describe("berth/plan on the tracked branch", () => {
  it("pending 'planning', then success 'published: Plan: …'", async () => {
    const { forge, reporter } = await setup();
    reporter.planning(c1);
    await reporter.idle();
    reporter.published(c1, "Plan: 1 to add, 0 to change, 0 to remove.");
    await reporter.idle();
    expect(forge.statuses(c1, "berth/plan").map((s) => [s.state, s.description])).toEqual([
      ["pending", "planning"],
      ["success", "published: Plan: 1 to add, 0 to change, 0 to remove."],
    ]);
  });

  it("failure 'rejected: N errors: first', cut to GitHub's 140 characters", async () => {
    const { forge, reporter } = await setup();
    reporter.planning(c1);
    reporter.rejected(
      c1,
      3,
      `apps/web.yaml:7:13: replicas must be >= 0 ${"and a long explanation ".repeat(10)}`,
    );
    await reporter.idle();
    const last = forge.latestStatus(c1, "berth/plan");
    expect(last?.state).toBe("failure");
    expect(
      last?.description.startsWith("rejected: 3 errors: apps/web.yaml:7:13: replicas must be >= 0"),
    ).toBe(true);
    expect(last?.description.length).toBeLessThanOrEqual(140);
  });

  it("keeps statuses of one commit in order: the newest is last even when called back to back", async () => {
    const { forge, reporter } = await setup();
    for (const c of [c1, c2]) {
      reporter.planning(c);
      reporter.published(c, "No changes.");
    }
    await reporter.idle();
    for (const c of [c1, c2]) expect(forge.latestStatus(c, "berth/plan")?.state).toBe("success");
    // The pending status was sent first or skipped as superseded, never after the success.
    for (const c of [c1, c2])
      expect(forge.statuses(c, "berth/plan").at(-1)?.description).toBe("published: No changes.");
  });

  it("waits out a 403 with Retry-After and delivers the status", async () => {
    const { forge, reporter } = await setup();
    forge.failNext(1, rateLimited.secondary(1));
    reporter.published(c1, "No changes.");
    await reporter.idle();
    expect(forge.latestStatus(c1, "berth/plan")?.state).toBe("success");
    expect(forge.requests.map((r) => r.status)).toEqual([403, 201]);
  });

  it("a forge that refuses (403, no rate limit) yields an error event, not an exception", async () => {
    const { forge, reporter, events, log } = await setup();
    forge.failNext(1, { status: 403, body: { message: "Resource not accessible by integration" } });
    reporter.published(c1, "No changes.");
    await reporter.idle();
    expect(forge.statuses(c1)).toHaveLength(0);
    expect(events).toMatchObject([{ type: "reconciler-error", data: { where: "commit-status", sha: c1 } }]);
    expect(log.lines.join("\n")).not.toContain(forge.token);
  });

  it("GitLab gets running/success/failed", async () => {
    const { forge, reporter } = await setup("gitlab");
    reporter.planning(c1);
    await reporter.idle();
    reporter.rejected(c1, 1, "apps/a.yaml:1:1: bad");
    reporter.planning(c2);
    await reporter.idle();
    reporter.published(c2, "No changes.");
    await reporter.idle();
    expect(forge.statuses(c1).map((s) => s.state)).toEqual(["running", "failed"]);
    expect(forge.statuses(c2).map((s) => s.state)).toEqual(["running", "success"]);
  });
});

describe("berth/deploy", () => {
  it("success once every affected node converged healthy", async () => {
    const { forge, reporter, log } = await setup();
    const tracker = createDeployTracker(reporter, log.logger);
    tracker.published(
      c1,
      new Map([
        ["n1", "sha256:a"],
        ["n2", "sha256:b"],
      ]),
    );
    tracker.nodeStatus("n1", status("n1", "sha256:a"));
    tracker.nodeStatus("n2", status("n2", "sha256:b", { phase: "applying", appliedHash: "sha256:old" }));
    await reporter.idle();
    expect(forge.latestStatus(c1, "berth/deploy")).toMatchObject({
      state: "pending",
      description: "deploying to 2 nodes",
    });
    tracker.nodeStatus("n2", status("n2", "sha256:b"));
    await reporter.idle();
    expect(forge.latestStatus(c1, "berth/deploy")).toMatchObject({
      state: "success",
      description: "deployed: all affected nodes converged healthy",
    });
    tracker.close();
  });

  it("failure naming the failing workloads, success if they recover", async () => {
    const { forge, reporter, log } = await setup();
    const tracker = createDeployTracker(reporter, log.logger);
    tracker.published(c1, new Map([["n1", "sha256:a"]]));
    const op = {
      status: "failed" as const,
      step: "replace web-1",
      attempt: 3,
      retryable: true,
      lastError: "never became healthy",
    };
    tracker.nodeStatus(
      "n1",
      status("n1", "sha256:a", {
        phase: "degraded",
        appliedHash: "sha256:old",
        workloads: [
          workload("web-0"),
          workload("web-1", { state: "failed", health: "unhealthy", operation: op }),
        ],
      }),
    );
    await reporter.idle();
    expect(forge.latestStatus(c1, "berth/deploy")).toMatchObject({
      state: "failure",
      description: "failing: n1/web-1 (never became healthy)",
    });
    tracker.nodeStatus("n1", status("n1", "sha256:a", { workloads: [workload("web-0"), workload("web-1")] }));
    await reporter.idle();
    expect(forge.latestStatus(c1, "berth/deploy")?.state).toBe("success");
    tracker.close();
  });

  it("a newer publish supersedes an unfinished deploy; no affected node means deployed", async () => {
    const { forge, reporter, log } = await setup();
    const tracker = createDeployTracker(reporter, log.logger);
    tracker.published(c1, new Map([["n1", "sha256:a"]]));
    tracker.published(c2, new Map());
    await reporter.idle();
    expect(forge.latestStatus(c1, "berth/deploy")).toMatchObject({ state: "error" });
    expect(forge.latestStatus(c1, "berth/deploy")?.description).toContain("superseded by 2222222");
    expect(forge.latestStatus(c2, "berth/deploy")?.state).toBe("success");
    tracker.close();
  });

  it("at the deadline, nodes that never converged are named", async () => {
    const { forge, reporter, log } = await setup();
    const tracker = createDeployTracker(reporter, log.logger, { timeoutMs: 100 });
    tracker.published(
      c1,
      new Map([
        ["n1", "sha256:a"],
        ["n2", "sha256:b"],
      ]),
    );
    tracker.nodeStatus("n1", status("n1", "sha256:a"));
    const deadline = Date.now() + 20_000;
    while (forge.latestStatus(c1, "berth/deploy")?.state !== "failure" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      await reporter.idle();
    }
    expect(forge.latestStatus(c1, "berth/deploy")).toMatchObject({
      state: "failure",
      description: "failing: n2 (not converged)",
    });
    tracker.close();
  });
});

describe("deployVerdict", () => {
  const target = {
    commit: c1,
    nodes: new Map([
      ["a", "h1"],
      ["b", "h2"],
    ]),
  };
  const cases: [string, [string, NodeStatus][], ReturnType<typeof deployVerdict>][] = [
    ["no reports yet", [], { state: "waiting", waitingFor: ["a", "b"], failing: [] }],
    [
      "all converged",
      [
        ["a", status("a", "h1")],
        ["b", status("b", "h2")],
      ],
      { state: "succeeded" },
    ],
    [
      "converged on an older document",
      [
        ["a", status("a", "h1")],
        ["b", status("b", "old")],
      ],
      { state: "waiting", waitingFor: ["b"], failing: [] },
    ],
    [
      "one failed on its document",
      [
        ["a", status("a", "h1")],
        ["b", status("b", "h2", { phase: "failed", workloads: [workload("api-0", { state: "failed" })] })],
      ],
      { state: "failed", failing: ["b/api-0 (failed)"] },
    ],
    [
      "failed on an older document is still waiting",
      [
        ["a", status("a", "h1")],
        ["b", status("b", "old", { phase: "failed" })],
      ],
      { state: "waiting", waitingFor: ["b"], failing: [] },
    ],
    [
      "ingress failure without a failing workload",
      [
        ["a", status("a", "h1")],
        [
          "b",
          status("b", "h2", {
            phase: "degraded",
            ingress: { hash: null, applied: false, lastError: "caddy: 400" },
          }),
        ],
      ],
      { state: "failed", failing: ["b ingress (caddy: 400)"] },
    ],
  ];
  it.each(cases)("%s", (_n, reports, want) => {
    expect(deployVerdict(target, new Map(reports))).toEqual(want);
  });
});

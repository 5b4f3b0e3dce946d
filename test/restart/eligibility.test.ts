// decideRestart: when `berth restart` may begin. Table of cluster situations → decision.
import { describe, expect, it } from "vitest";
import { decideRestart, type RestartAsk, type RestartNodeView } from "../../core/restart/eligibility.js";
import type { NodeStatus, WorkloadStatus } from "../../schema/index.js";

const now = 1_000_000;
const h = (c: string) => `sha256:${c.repeat(64)}`;
const doc = h("d");

function ws(id: string, over: Partial<WorkloadStatus> = {}): WorkloadStatus {
  return { id, app: "web", state: "running", health: "healthy", specHash: h("1"), operation: null, ...over };
}
function status(workloads: WorkloadStatus[], over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    node: "n",
    agentVersion: "t",
    desiredHash: doc,
    appliedHash: doc,
    appliedCommit: null,
    phase: "converged",
    workloads,
    ingress: null,
    ...over,
  };
}
function node(name: string, over: Partial<RestartNodeView> = {}): RestartNodeView {
  return {
    node: name,
    docHash: doc,
    workloads: [{ id: "web-0", specHash: h("1") }],
    status: status([ws("web-0")]),
    lastSeen: now - 1_000,
    ...over,
  };
}
const ask = (nodes: RestartNodeView[], over: Partial<RestartAsk> = {}): RestartAsk => ({
  app: "web",
  generation: 7,
  nodes,
  inProgress: null,
  now,
  ...over,
});

describe("decideRestart", () => {
  it("restarts every node that runs the app, in name order", () => {
    const d = decideRestart(ask([node("b"), node("a"), node("c", { workloads: [] })]));
    expect(d).toEqual({
      ok: true,
      targets: [
        { node: "a", workloads: [{ id: "web-0", specHash: h("1") }] },
        { node: "b", workloads: [{ id: "web-0", specHash: h("1") }] },
      ],
    });
  });

  it("restarts only the node asked for", () => {
    const d = decideRestart(ask([node("a"), node("b")], { node: "b" }));
    expect(d.ok && d.targets.map((t) => t.node)).toEqual(["b"]);
  });

  it("ignores a failing app elsewhere on the node (only the app's workloads count)", () => {
    const st = status([ws("web-0"), ws("api-0", { app: "api", state: "failed", operation: null })], {
      phase: "degraded",
      appliedHash: h("0"),
    });
    expect(decideRestart(ask([node("a", { status: st })])).ok).toBe(true);
  });

  it("restarts an instance that runs but fails its health check (that is what restart is for)", () => {
    const st = status([ws("web-0", { health: "unhealthy" })], { phase: "degraded" });
    expect(decideRestart(ask([node("a", { status: st })])).ok).toBe(true);
  });

  const refusals: [string, RestartAsk, string, RegExp][] = [
    [
      "a restart of the app is in progress",
      ask([node("a")], { inProgress: "r-1234" }),
      "restart-in-progress",
      /already in progress \(r-1234\)/,
    ],
    [
      "the app runs nowhere",
      ask([node("a", { workloads: [] })]),
      "not-running",
      /web runs on no node in generation 7/,
    ],
    [
      "the app does not run on the node asked for",
      ask([node("a"), node("b", { workloads: [] })], { node: "b" }),
      "unknown-node",
      /does not run on node b .* it runs on a/,
    ],
    [
      "the agent was not seen for long",
      ask([node("a", { lastSeen: now - 300_000 })]),
      "agent-unreachable",
      /node a was last seen 5 min ago/,
    ],
    [
      "the agent was never seen",
      ask([node("a", { lastSeen: null })]),
      "agent-unreachable",
      /has not been seen since the reconciler started/,
    ],
    ["the node never reported", ask([node("a", { status: null })]), "not-running", /has not reported/],
    [
      "the agent has not taken the published document",
      ask([node("a", { status: status([ws("web-0")], { desiredHash: h("0") }) })]),
      "deploy-in-progress",
      /has not taken generation 7 yet/,
    ],
    [
      "the app's workload still runs the old version",
      ask([node("a", { status: status([ws("web-0", { specHash: h("0") })]) })]),
      "deploy-in-progress",
      /web-0: it still runs the previous version/,
    ],
    [
      "an operation runs on the app",
      ask([
        node("a", {
          status: status([
            ws("web-0", {
              state: "starting",
              operation: {
                status: "running",
                step: "replace web-0: image a:1 → a:2",
                attempt: 1,
                retryable: true,
                lastError: null,
              },
            }),
          ]),
        }),
      ]),
      "deploy-in-progress",
      /web-0: replace web-0: image a:1 → a:2/,
    ],
    [
      "a workload is stopped",
      ask([node("a", { status: status([ws("web-0", { state: "stopped", specHash: null })]) })]),
      "not-running",
      /web-0 is not running on node a \(stopped\)/,
    ],
    [
      "a workload is missing from the report",
      ask([node("a", { status: status([]) })]),
      "not-running",
      /web-0 is not running on node a/,
    ],
    [
      "one of two nodes is not ready",
      ask([node("a"), node("b", { status: status([ws("web-0", { state: "stopped" })]) })]),
      "not-running",
      /web-0 is stopped on node b/,
    ],
  ];
  it.each(refusals)("refuses when %s", (_name, a, code, message) => {
    const d = decideRestart(a);
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.code).toBe(code);
      expect(d.message).toMatch(message);
    }
  });
});

// `berth status` shows the restarts nodes report: summarise() collects them (newest first, the
// app filter applies) and the text view prints them under the app table.
import { describe, expect, it } from "vitest";
import { renderStatus } from "../../cli/status-view.js";
import { summarise } from "../../core/status/summary.js";
import type { DesiredState, NodeStatus } from "../../schema/index.js";

const status = (node: string, restarts: NodeStatus["restarts"]): NodeStatus => ({
  node,
  agentVersion: "t",
  desiredHash: null,
  appliedHash: null,
  appliedCommit: null,
  phase: "converged",
  workloads: [],
  ingress: null,
  ...(restarts ? { restarts } : {}),
});

describe("restarts in berth status", () => {
  const statuses = new Map([
    [
      "a",
      status("a", [
        {
          id: "restart-aaaa11112222",
          app: "web",
          state: "failed",
          message: "web-0 could not be restarted: boom",
          done: 0,
          total: 2,
          at: "2025-05-01T10:00:05.000Z",
        },
      ]),
    ],
    [
      "b",
      status("b", [
        {
          id: "restart-bbbb11112222",
          app: "api",
          state: "succeeded",
          message: "restarted 1 of 1 instances of api",
          done: 1,
          total: 1,
          at: "2025-05-01T10:00:01.000Z",
        },
      ]),
    ],
  ]);
  const input = { desired: new Map<string, DesiredState>(), statuses };

  it("collects them newest first, filtered by app", () => {
    expect(summarise(input).restarts?.map((r) => `${r.node}:${r.id}`)).toEqual([
      "a:restart-aaaa11112222",
      "b:restart-bbbb11112222",
    ]);
    expect(summarise(input, { app: "api" }).restarts?.map((r) => r.app)).toEqual(["api"]);
    expect(
      summarise({ desired: new Map(), statuses: new Map([["c", status("c", undefined)]]) }).restarts,
    ).toBeUndefined();
  });

  it("prints them under the apps", () => {
    const text = renderStatus(summarise(input), (_s, t) => t, Date.parse("2025-05-01T10:01:05.000Z"));
    expect(text).toContain("RESTART");
    expect(text).toMatch(
      /restart-aaaa11112222 +web +a +failed +0\/2 +1m ago: web-0 could not be restarted: boom/,
    );
    expect(text).toMatch(
      /restart-bbbb11112222 +api +b +succeeded +1\/1 +1m ago: restarted 1 of 1 instances of api/,
    );
  });
});

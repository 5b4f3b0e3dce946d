// `berth status` from plain data: per app what is desired apart from what serves (the desired or a
// previous version, how many healthy), the failing operation with its cause and the instance's
// last output, in text (escapes stripped) and in JSON; and which reports carry news for the
// `workload-failed` event. Pure, no I/O.
import { describe, expect, it } from "vitest";
import { renderStatus } from "../../cli/status-view.js";
import { newFailures } from "../../core/status/failures.js";
import { summarise } from "../../core/status/summary.js";
import type { NodeStatus, WorkloadStatus } from "../../schema/index.js";
import { desiredDoc, workload } from "../agent/helpers/docs.js";

const v1 = (replica: number) =>
  workload({ app: "hello", replica, port: 8080, hostPort: 20000 + 2 * replica });
const v2 = (replica: number) => workload({ ...v1(replica), env: { GREETING: "v2" } });
const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const NOW = Date.parse("2026-01-01T00:00:10Z");

function failingStatus(): { doc: ReturnType<typeof desiredDoc>; status: NodeStatus } {
  const doc = desiredDoc("local", [v2(0), v2(1)], [], C2);
  const ws = (r: number): WorkloadStatus => ({
    id: `hello-${r}`,
    app: "hello",
    state: r === 0 ? "crash-looping" : "failed",
    health: "healthy",
    specHash: v1(r).specHash,
    commit: C1,
    restarts: r === 0 ? 3 : 1,
    ...(r === 0
      ? {
          lastExit: {
            code: 1,
            signal: null,
            at: "2026-01-01T00:00:05.000Z",
            output: ["\u001b[31mError: Cannot find module '/srv/missing.js'\u001b[0m", "Node.js v20"],
          },
        }
      : {}),
    operation: {
      status: "backoff",
      step: "replace hello-0: env.GREETING added",
      attempt: 3,
      retryable: true,
      lastError: "exited before it became healthy (exit code 1)",
      nextAttemptAt: "2026-01-01T00:00:14.000Z",
      cause: {
        where: "workload",
        message:
          "exited with code 1 30 ms after it started (before it became healthy); it printed: Error: Cannot find module '/srv/missing.js'",
      },
    },
  });
  return {
    doc,
    status: {
      node: "local",
      agentVersion: "t",
      desiredHash: doc.hash,
      appliedHash: null,
      appliedCommit: C1,
      phase: "degraded",
      workloads: [ws(0), ws(1)],
      ingress: null,
    },
  };
}

describe("status summary", () => {
  it("a failing new version: desired apart from serving, the failing step, cause, restarts and last exit", () => {
    const { doc, status } = failingStatus();
    const s = summarise({ desired: new Map([["local", doc]]), statuses: new Map([["local", status]]) });
    const app = s.apps[0];
    expect(app).toMatchObject({
      app: "hello",
      desired: 2,
      healthy: 0,
      desiredCommit: C2,
      serving: [{ version: "previous", commit: C1, healthy: 2, running: 2 }],
      failing: {
        workload: "hello-0",
        node: "local",
        state: "crash-looping",
        step: "replace hello-0: env.GREETING added",
        attempt: 3,
        nextAttemptAt: "2026-01-01T00:00:14.000Z",
        restarts: 3,
        cause: { where: "workload" },
        lastExit: { code: 1 },
      },
    });
    const text = renderStatus(s, (_style, t) => t, NOW);
    expect(text).toContain("previous @ 1111111: 2 healthy");
    expect(text).toMatch(
      /hello +0\/2 +2 @ 2222222 +previous @ 1111111: 2 healthy +crash-looping: replace hello-0: env.GREETING added \(attempt 3, next retry in 4s\)/,
    );
    expect(text).toContain(
      "hello: hello-0 on local is crash-looping, 3 restarts; the previous version keeps serving (2 healthy @ 1111111)",
    );
    expect(text).toContain("  cause: workload: exited with code 1 30 ms after it started");
    expect(text).toContain("  last exit: code 1 at 2026-01-01T00:00:05.000Z");
    // Output from a node is printed without its terminal escapes.
    expect(text).toContain("    | Error: Cannot find module '/srv/missing.js'");
    expect(text).not.toContain("\u001b");
  });

  it("a converged app: the desired version serves, nothing fails", () => {
    const doc = desiredDoc("local", [v1(0)], [], C1);
    const status: NodeStatus = {
      node: "local",
      agentVersion: "t",
      desiredHash: doc.hash,
      appliedHash: doc.hash,
      appliedCommit: C1,
      phase: "converged",
      workloads: [
        {
          id: "hello-0",
          app: "hello",
          state: "running",
          health: "healthy",
          specHash: v1(0).specHash,
          restarts: 0,
          operation: null,
        },
      ],
      ingress: null,
    };
    const s = summarise({ desired: new Map([["local", doc]]), statuses: new Map([["local", status]]) });
    expect(s.apps[0]).toMatchObject({
      healthy: 1,
      desired: 1,
      failing: null,
      serving: [{ version: "desired", commit: C1, healthy: 1 }],
    });
    const text = renderStatus(s, (_style, t) => t, NOW);
    expect(text).toMatch(/hello +1\/1 +1 @ 1111111 +desired \(1 healthy\) +-/);
  });

  it("per node, the drift its agent repaired: the count, and when and what the last repair was; ? from an older agent", () => {
    const doc = desiredDoc("local", [v1(0)], [], C1);
    const status: NodeStatus = {
      node: "local",
      agentVersion: "t",
      desiredHash: doc.hash,
      appliedHash: doc.hash,
      appliedCommit: C1,
      phase: "converged",
      workloads: [],
      ingress: null,
    };
    const older = summarise({ desired: new Map([["local", doc]]), statuses: new Map([["local", status]]) });
    expect(older.nodes[0]?.drift).toBeNull();
    expect(renderStatus(older, (_style, t) => t, NOW)).toMatch(/local +- +converged +yes +1111111 +- +\?\n/);
    const last = "restart hello-0: process exited (killed by SIGKILL)\u001b[2J";
    const drift = { repaired: 2, lastAt: new Date(NOW - 90_000).toISOString(), last };
    const s = summarise({
      desired: new Map([["local", doc]]),
      statuses: new Map([["local", { ...status, drift }]]),
    });
    expect(s.nodes[0]?.drift).toEqual(drift);
    const text = renderStatus(s, (_style, t) => t, NOW);
    expect(text).toContain("DRIFT REPAIRED");
    expect(text).toMatch(/local +- +converged +yes +1111111 +- +2\n/);
    expect(text).toContain(
      "  local: drift repaired 2, last 2m ago: restart hello-0: process exited (killed by SIGKILL)",
    );
    expect(text).not.toContain("\u001b");
  });

  it("nothing serving is said as such", () => {
    const { doc, status } = failingStatus();
    for (const w of status.workloads) {
      w.health = "unknown";
      w.state = "crash-looping";
      w.specHash = null;
    }
    const s = summarise({ desired: new Map([["local", doc]]), statuses: new Map([["local", status]]) });
    expect(s.apps[0]?.serving).toEqual([]);
    expect(renderStatus(s, (_style, t) => t, NOW)).toContain("; nothing of it serves");
  });
});

describe("newFailures (workload-failed events)", () => {
  it("a failure is news once; a new cause or a new exit is news again; recovering is not a failure", () => {
    const { status } = failingStatus();
    const first = newFailures(null, status);
    expect(first.map((f) => [f.workload, f.state])).toEqual([
      ["hello-0", "crash-looping"],
      ["hello-1", "failed"],
    ]);
    expect(first[0]).toMatchObject({
      node: "local",
      app: "hello",
      restarts: 3,
      cause: { where: "workload" },
      lastExit: { code: 1 },
    });
    expect(newFailures(status, structuredClone(status))).toEqual([]);
    const again = structuredClone(status);
    (again.workloads[0] as WorkloadStatus).lastExit = {
      code: 1,
      signal: null,
      at: "2026-01-01T00:00:09.000Z",
      output: [],
    };
    expect(newFailures(status, again).map((f) => f.workload)).toEqual(["hello-0"]);
    const ok = structuredClone(status);
    for (const w of ok.workloads) w.state = "running";
    expect(newFailures(status, ok)).toEqual([]);
  });
});

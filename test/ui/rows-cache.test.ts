// The overview's row cache (reconciler/ui/rows-cache.ts) gives the same rows as computing them
// afresh (core/views/ops appRows/nodeRows) after every step of a seeded random walk of reports,
// liveness changes, new documents, nodes coming and going and new deploy records.
import { describe, expect, it } from "vitest";
import { rng } from "../../bench/gen-repo.js";
import { appRows, type NodeInput, nodeRows, type OpsInput } from "../../core/views/ops/index.js";
import { RowsCache } from "../../reconciler/ui/rows-cache.js";
import type { DesiredState, Workload } from "../../schema/index.js";

const apps = ["api", "web", "worker", "cache", "mail", "feed"];
const hash = (s: string) => `sha256:${s.padEnd(64, "0").slice(0, 64)}`;

function workload(app: string, replica: number, v: number): Workload {
  return {
    id: `${app}-${replica}`,
    app,
    replica,
    runtime: "process",
    command: ["x"],
    env: {},
    hostPort: 20000 + replica * 2,
    health: {
      intervalSeconds: 2,
      timeoutSeconds: 2,
      startPeriodSeconds: 30,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    },
    volumes: [],
    strategy: "start-first",
    specHash: hash(`${app}${v}`),
  };
}

describe("overview row cache", () => {
  it("equals rows computed afresh after every step of a random walk", () => {
    const rand = rng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const nodes = new Map<string, NodeInput>();
    let deploys: OpsInput["deploys"] = new Map();
    const cache = new RowsCache();
    const newDoc = (node: string): DesiredState => {
      const ws = apps
        .filter(() => rand() < 0.5)
        .flatMap((a) => [
          workload(a, 0, Math.floor(rand() * 3)),
          ...(rand() < 0.3 ? [workload(a, 1, 0)] : []),
        ]);
      return {
        apiVersion: "berth/v1",
        node,
        source: { branch: "main", commit: "c".repeat(40) },
        hash: hash(`${node}${rand()}`),
        workloads: ws,
        routes: [],
      };
    };
    const report = (n: NodeInput): NodeInput["status"] => ({
      node: n.node,
      agentVersion: "0.1.0",
      desiredHash: n.desired?.hash ?? null,
      appliedHash: rand() < 0.7 ? (n.desired?.hash ?? null) : null,
      appliedCommit: "c".repeat(40),
      phase: pick(["converged", "applying", "degraded"] as const),
      workloads: (n.desired?.workloads ?? [])
        .filter(() => rand() < 0.9)
        .map((w) => ({
          id: w.id,
          app: w.app,
          state: pick(["running", "running", "starting", "failed", "stopped"]),
          health: pick(["healthy", "healthy", "unhealthy", "unknown"] as const),
          specHash: rand() < 0.8 ? w.specHash : hash("old"),
          operation:
            rand() < 0.2
              ? {
                  status: pick(["running", "failed", "backoff"] as const),
                  step: "replace",
                  attempt: 1,
                  retryable: true,
                  lastError: "boom",
                }
              : null,
        })),
      ingress: null,
    });
    for (let step = 0; step < 400; step++) {
      const name = `n${Math.floor(rand() * 6)}`;
      const n = nodes.get(name);
      const r = rand();
      if (!n || r < 0.1) {
        const fresh: NodeInput = {
          node: name,
          lastSeen: null,
          liveness: "alive",
          desired: newDoc(name),
          status: null,
        };
        nodes.set(name, fresh);
      } else if (r < 0.5) nodes.set(name, { ...n, status: report(n) });
      else if (r < 0.65) nodes.set(name, { ...n, liveness: pick(["alive", "stale", "lost"] as const) });
      else if (r < 0.75) nodes.set(name, { ...n, desired: newDoc(name) });
      else if (r < 0.8) nodes.delete(name);
      else if (r < 0.85)
        deploys = new Map([
          [pick(apps), { generation: step, at: "2025-01-01T00:00:00.000Z", commit: "c".repeat(40) }],
        ]);
      else nodes.set(name, { ...n, lastSeen: new Date(1_700_000_000_000 + step * 1000).toISOString() });
      const input: OpsInput = {
        now: 0,
        trackedBranch: "main",
        published: { generation: 1, commit: null, desiredCommit: null },
        tip: null,
        nodes: [...nodes.values()].sort((a, b) => (a.node < b.node ? -1 : 1)),
        deploys,
      };
      const got = cache.rows(input);
      expect(got.apps, `step ${step}`).toEqual(appRows(input));
      expect(got.nodes, `step ${step}`).toEqual(nodeRows(input));
    }
  });
});

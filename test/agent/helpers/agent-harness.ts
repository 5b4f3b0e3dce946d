// Shared set-up of agent integration tests: a fake reconciler, a temp state dir, an agent whose
// log lines are kept in memory (to assert on reasons and on secrets never logged), process
// workloads running the tiny HTTP app of test/fixtures/apps, and clean-up of all of it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { type AgentEvent, type AgentOptions, type RunningAgent, startAgent } from "../../../agent/index.js";
import { createProcessDriver } from "../../../agent/runtime/process-driver.js";
import type { DesiredState, Workload } from "../../../schema/index.js";
import { workload } from "./docs.js";
import { type FakeReconciler, startFakeReconciler } from "./fake-reconciler.js";
import { waitFor } from "./wait.js";

export const appScript = fileURLToPath(new URL("../../fixtures/apps/app.mjs", import.meta.url));
export const SECRET = "s3cr3t-env-value-never-logged";

export interface Harness {
  node: string;
  rec: FakeReconciler;
  stateDir: string;
  logs: string[];
  events: AgentEvent[];
  agent: RunningAgent | null;
  start(extra?: Partial<AgentOptions>): Promise<RunningAgent>;
  /** Stops the agent, leaving workloads running. */
  stopAgent(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeHarness(node = "node-a"): Promise<Harness> {
  const rec = await startFakeReconciler({ node });
  const stateDir = mkdtempSync(join(tmpdir(), "berth-agent-"));
  const h: Harness = {
    node,
    rec,
    stateDir,
    logs: [],
    events: [],
    agent: null,
    async start(extra = {}) {
      const logger = pino({ level: "debug" }, { write: (s: string) => void h.logs.push(s) });
      h.agent = await startAgent({
        node,
        url: rec.url,
        token: rec.token,
        stateDir,
        logger,
        pollWaitSeconds: 5,
        driftIntervalMs: 300,
        deadlines: { stopGraceMs: 3_000 },
        onEvent: (e) => h.events.push(e),
        ...extra,
      });
      return h.agent;
    },
    async stopAgent() {
      await h.agent?.stop();
      h.agent = null;
    },
    async cleanup() {
      if (h.agent) await h.agent.stop({ stopWorkloads: true });
      else {
        // Processes left running by a stopped agent: the process driver adopts and stops them.
        await createProcessDriver({ stateDir }).close({ stopAll: true });
      }
      h.agent = null;
      await rec.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return h;
}

export function appWorkload(opts: {
  app?: string;
  replica?: number;
  hostPort: number;
  reply: string;
  unhealthy?: boolean;
  strategy?: Workload["strategy"];
}): Workload {
  return workload({
    app: opts.app ?? "web",
    replica: opts.replica ?? 0,
    runtime: "process",
    command: [process.execPath, appScript],
    env: { REPLY: opts.reply, API_SECRET: SECRET, ...(opts.unhealthy ? { UNHEALTHY: "1" } : {}) },
    port: 8080,
    hostPort: opts.hostPort,
    health: {
      path: "/healthz",
      intervalSeconds: 0.2,
      timeoutSeconds: 1,
      startPeriodSeconds: opts.unhealthy ? 1 : 15,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    },
    strategy: opts.strategy ?? "start-first",
  });
}

/** GET http://127.0.0.1:port/ → {body, pid}, or null when nothing answers. */
export async function hit(port: number): Promise<{ body: string; pid: number } | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3_000) });
    const body = await res.text();
    return { body, pid: Number(res.headers.get("x-pid")) };
  } catch {
    return null;
  }
}

/** Waits until the reconciler has a status for `hash` that satisfies `pred`. */
export function statusFor(
  h: Harness,
  hash: string,
  pred: (s: NonNullable<ReturnType<FakeReconciler["latest"]>>) => boolean,
) {
  return waitFor(`a status for ${hash.slice(0, 19)}`, () => {
    const s = h.rec.latest();
    return s && s.desiredHash === hash && pred(s) ? s : undefined;
  });
}

export const converged = (hash: string) => (s: { phase: string; appliedHash: string | null }) =>
  s.phase === "converged" && s.appliedHash === hash;

/** Publishes `doc`, starts the agent and waits until it reports converged on it. */
export async function startConverged(h: Harness, doc: DesiredState, extra?: Partial<AgentOptions>) {
  h.rec.publish(doc);
  await h.start(extra);
  return statusFor(h, doc.hash, converged(doc.hash));
}

// Builds the NodeStatus report (status.schema.json) from what the loop knows: the document being
// applied, observed instances and health, backoff entries, the action in progress, ingress and
// problems. Decides the phase; never says converged when something failed. Pure.
import type { DesiredState, NodeStatus, Operation, WorkloadStatus } from "../../schema/index.js";
import { slotPort } from "../runtime/driver.js";
import { type ObservedInstance, workloadKey } from "./actions.js";
import type { BackoffBook } from "./backoff.js";
import type { Health } from "./planner.js";

export interface Problem {
  code: string;
  message: string;
}

export interface StatusInput {
  node: string;
  agentVersion: string;
  /** Hash of the newest document received (applied or rejected). */
  desiredHash: string | null;
  /** The last document applied completely. */
  applied: { hash: string; commit: string } | null;
  /** The document the agent works towards (null before it ever had one). */
  doc: DesiredState | null;
  instances: readonly ObservedInstance[];
  health: ReadonlyMap<string, Health>;
  backoff: BackoffBook;
  /** The action being executed now, if any. */
  running: { workloadId: string; step: string; attempt: number } | null;
  /** Work remains that is not waiting on backoff (a pass is under way or due). */
  pending: boolean;
  ingress: NodeStatus["ingress"];
  problems: readonly Problem[];
  now: number;
}

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** Problems that mean the node is not running what it was asked to. */
const degradingProblem = (p: Problem): boolean =>
  p.code.startsWith("document-") || p.code === "ingress-disabled" || p.code === "address-not-local";

function workloadStatus(w: DesiredState["workloads"][number], input: StatusInput): WorkloadStatus {
  const mine = input.instances.filter((i) => i.workloadId === w.id);
  const alive = mine.filter((i) => i.state !== "exited");
  const keeper =
    alive.find((i) => i.specHash === w.specHash) ??
    alive[0] ??
    mine.find((i) => i.specHash === w.specHash) ??
    mine[0];
  const entry = input.backoff.get(workloadKey(w.id, w.specHash));
  let state: WorkloadStatus["state"];
  let operation: Operation | null = null;
  if (input.running?.workloadId === w.id) {
    state = "starting";
    operation = {
      status: "running",
      step: clip(input.running.step, 500),
      attempt: input.running.attempt,
      retryable: true,
      lastError: entry ? clip(entry.lastError, 4000) : null,
    };
  } else if (entry) {
    state = "failed";
    operation = {
      status: "backoff",
      step: clip(entry.step, 500),
      attempt: entry.attempt,
      retryable: true,
      lastError: clip(entry.lastError, 4000),
      nextAttemptAt: new Date(entry.nextAttemptAt).toISOString(),
    };
  } else if (!keeper || keeper.state === "exited") {
    state = "stopped";
  } else {
    state = keeper.state === "starting" ? "starting" : "running";
  }
  const out: WorkloadStatus = {
    id: w.id,
    app: w.app,
    state,
    health: keeper && keeper.state !== "exited" ? (input.health.get(keeper.ref) ?? "unknown") : "unknown",
    specHash: keeper?.specHash ?? null,
    // The host port of the kept instance's slot (a container without a port reports port 0).
    hostPort: keeper ? slotPort(w, keeper.slot) : w.hostPort,
    restarts: mine.reduce((n, i) => n + i.restarts, 0),
    operation,
  };
  return out;
}

function phaseOf(
  ws: readonly WorkloadStatus[],
  input: StatusInput,
  specOf: Map<string, string>,
): NodeStatus["phase"] {
  const ingressFailed = Boolean(input.ingress?.lastError);
  const failed = ws.filter((w) => w.state === "failed").length + (ingressFailed ? 1 : 0);
  if (input.pending) return "applying";
  // Serving: something answers for the workload (a failed one only counts when seen healthy,
  // e.g. the old version kept after a failed replace).
  const serving = ws.filter(
    (w) =>
      w.specHash !== null && (w.health === "healthy" || (w.state === "running" && w.health === "unknown")),
  );
  if (failed > 0) return serving.length > 0 ? "degraded" : "failed";
  const right = ws.every(
    (w) => w.state === "running" && w.health !== "unhealthy" && w.specHash === specOf.get(w.id),
  );
  if (!right) return "degraded";
  if (input.ingress && !input.ingress.applied) return "degraded";
  if (input.problems.some(degradingProblem)) return "degraded";
  return "converged";
}

export function buildStatus(input: StatusInput): NodeStatus {
  const doc = input.doc;
  const workloads = doc ? doc.workloads.map((w) => workloadStatus(w, input)) : [];
  const specOf = new Map((doc?.workloads ?? []).map((w) => [w.id, w.specHash]));
  const status: NodeStatus = {
    node: input.node,
    agentVersion: input.agentVersion,
    desiredHash: input.desiredHash,
    appliedHash: input.applied?.hash ?? null,
    appliedCommit: input.applied?.commit ?? null,
    phase: doc ? phaseOf(workloads, input, specOf) : input.pending ? "applying" : "degraded",
    observedAt: new Date(input.now).toISOString(),
    workloads,
    ingress: input.ingress,
  };
  if (input.problems.length > 0) {
    status.problems = input.problems
      .slice(0, 100)
      .map((p) => ({ code: clip(p.code, 100), message: clip(p.message, 4000) }));
  }
  return status;
}

// Builds the NodeStatus report (status.schema.json) from what the loop knows: the document being
// applied, observed instances and health, backoff entries and exits per spec, the action in
// progress, ingress and problems. Says per workload what serves (its spec, health and commit) apart
// from what is wanted, how often the wanted spec exited and how it last did, the failing
// operation's step, attempt, next retry and cause, and the drift repaired so far. Decides the
// phase; never says converged when something failed. Pure.
import type {
  Cause,
  DesiredState,
  Drift,
  Exit,
  NodeStatus,
  Operation,
  WorkloadStatus,
} from "../../schema/index.js";
import { slotPort } from "../runtime/driver.js";
import { type ObservedInstance, workloadKey } from "./actions.js";
import type { BackoffBook } from "./backoff.js";
import { causeOf, describeExit } from "./cause.js";
import { type CrashBook, type CrashRecord, isCrashLooping } from "./crash-loop.js";
import type { Health } from "./planner.js";

export interface Problem {
  code: string;
  message: string;
}

export interface RunningStep {
  workloadId: string;
  step: string;
  attempt: number;
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
  /** Exits per spec (restarts, last exit, crash-loop streak). */
  crashes?: CrashBook;
  /** Config commit each spec first came with, by specHash. */
  specCommits?: ReadonlyMap<string, string>;
  /** The action a pass executes now, if any. */
  running: RunningStep | null;
  /** Restarts of exited instances under way beside it (the restart lane), one per workload. */
  restarting?: readonly RunningStep[];
  /** Work remains that is not waiting on backoff (a pass is under way or due). */
  pending: boolean;
  ingress: NodeStatus["ingress"];
  problems: readonly Problem[];
  /** Drift repaired since the agent started (absent: not reported). */
  drift?: Drift;
  now: number;
}

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** Problems that mean the node is not running what it was asked to. */
const degradingProblem = (p: Problem): boolean =>
  p.code.startsWith("document-") || p.code === "ingress-disabled" || p.code === "address-not-local";

/** Lines kept of an output excerpt in status, and characters per line. */
export const excerptLines = 10;
export const excerptLineChars = 500;

const excerpt = (lines: readonly string[]): string[] =>
  lines.slice(-excerptLines).map((l) => clip(l, excerptLineChars));

const clipCause = (c: Cause): Cause => {
  const out: Cause = { where: c.where, message: clip(c.message, 2000) };
  if (c.output && c.output.length > 0) out.output = excerpt(c.output);
  return out;
};

function lastExitOf(r: CrashRecord | undefined): Exit | null {
  const e = r?.lastExit;
  if (!e) return null;
  return { code: e.code, signal: e.signal, at: new Date(e.at).toISOString(), output: excerpt(e.output) };
}

/** The cause of a pending restart after an exit (no action failed: the instance died by itself). */
function exitCause(r: CrashRecord): Cause {
  const e = r.lastExit;
  if (!e) return { where: "workload", message: "exited" };
  const ran = r.lastStartAt !== null && e.at >= r.lastStartAt ? e.at - r.lastStartAt : null;
  return causeOf({
    kind: "exited",
    code: e.code,
    signal: e.signal,
    ranMs: ran,
    duringStart: false,
    output: e.output,
  });
}

function workloadStatus(w: DesiredState["workloads"][number], input: StatusInput): WorkloadStatus {
  const mine = input.instances.filter((i) => i.workloadId === w.id);
  const alive = mine.filter((i) => i.state !== "exited");
  const keeper =
    alive.find((i) => i.specHash === w.specHash) ??
    alive[0] ??
    mine.find((i) => i.specHash === w.specHash) ??
    mine[0];
  const key = workloadKey(w.id, w.specHash);
  const entry = input.backoff.get(key);
  const crash = input.crashes?.get(key);
  const looping = isCrashLooping(crash);
  // A restart waits after the wanted spec's instance exited by itself.
  const restartPending =
    crash !== undefined &&
    crash.lastExit !== null &&
    keeper !== undefined &&
    keeper.state === "exited" &&
    keeper.specHash === w.specHash &&
    crash.nextRestartAt > input.now;
  const retryAt = Math.max(entry?.nextAttemptAt ?? 0, restartPending ? (crash?.nextRestartAt ?? 0) : 0);
  let state: WorkloadStatus["state"];
  let operation: Operation | null = null;
  const running =
    input.running?.workloadId === w.id ? input.running : input.restarting?.find((r) => r.workloadId === w.id);
  if (running) {
    // A retry of a spec that failed is still failing until it succeeds; a first try is starting.
    state = looping ? "crash-looping" : entry ? "failed" : "starting";
    operation = {
      status: "running",
      step: clip(running.step, 500),
      attempt: running.attempt,
      retryable: true,
      lastError: entry ? clip(entry.lastError, 4000) : null,
    };
    const c = entry?.cause ?? (looping && crash ? exitCause(crash) : undefined);
    if (c) operation.cause = clipCause(c);
  } else if (entry) {
    state = looping ? "crash-looping" : "failed";
    operation = {
      status: "backoff",
      step: clip(entry.step, 500),
      attempt: entry.attempt,
      retryable: true,
      lastError: clip(entry.lastError, 4000),
      nextAttemptAt: new Date(retryAt).toISOString(),
      cause: clipCause(entry.cause),
    };
  } else if ((restartPending || looping) && crash) {
    // Waiting to restart after an exit; or restarted, but still in a crash loop until an instance
    // has run healthy for the stable time (it may well crash again: never "running" meanwhile).
    state = looping ? "crash-looping" : "failed";
    const cause = exitCause(crash);
    operation = {
      status: restartPending ? "backoff" : "succeeded",
      step: clip(
        `restart ${w.id}: ${keeper?.runtime === "process" ? "process" : "container"} ${describeExit(crash.lastExit?.code ?? null, crash.lastExit?.signal ?? null)}`,
        500,
      ),
      attempt: crash.streak,
      retryable: true,
      lastError: clip(cause.message, 4000),
      cause: clipCause(cause),
    };
    if (restartPending) operation.nextAttemptAt = new Date(retryAt).toISOString();
  } else if (!keeper || keeper.state === "exited") {
    state = "stopped";
  } else {
    state = keeper.state === "starting" ? "starting" : "running";
  }
  const serving = keeper && keeper.state !== "exited" ? keeper : undefined;
  const out: WorkloadStatus = {
    id: w.id,
    app: w.app,
    state,
    health: serving ? (input.health.get(serving.ref) ?? "unknown") : "unknown",
    specHash: keeper?.specHash ?? null,
    // The host port of the kept instance's slot (a container without a port reports port 0).
    hostPort: keeper ? slotPort(w, keeper.slot) : w.hostPort,
    restarts: crash?.restarts ?? 0,
    operation,
  };
  if (serving) {
    out.slot = serving.slot;
    const startedAt = input.crashes?.get(workloadKey(w.id, serving.specHash))?.lastStartAt;
    if (startedAt) out.startedAt = new Date(startedAt).toISOString();
  }
  const commit = keeper && input.specCommits?.get(keeper.specHash);
  if (commit) out.commit = commit;
  // The wanted spec's last exit, else that of the spec that serves (an old version that crashed).
  const lastExit =
    lastExitOf(crash) ?? (keeper ? lastExitOf(input.crashes?.get(workloadKey(w.id, keeper.specHash))) : null);
  if (lastExit) out.lastExit = lastExit;
  return out;
}

function phaseOf(
  ws: readonly WorkloadStatus[],
  input: StatusInput,
  specOf: Map<string, string>,
): NodeStatus["phase"] {
  const ingressFailed = Boolean(input.ingress?.lastError);
  const failed =
    ws.filter((w) => w.state === "failed" || w.state === "crash-looping").length + (ingressFailed ? 1 : 0);
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
  if (input.drift) status.drift = input.drift;
  if (input.problems.length > 0) {
    status.problems = input.problems
      .slice(0, 100)
      .map((p) => ({ code: clip(p.code, 100), message: clip(p.message, 4000) }));
  }
  return status;
}

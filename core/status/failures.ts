// Which workloads of a node's new status report fail with news: a failing state (failed,
// crash-looping) whose cause or last exit differs from the previous report's. The reconciler emits
// one `workload-failed` event for each, so the event stream names every new cause once, not every
// unchanged report again. Pure.
import type { Cause, Exit, NodeStatus, WorkloadStatus } from "../../schema/index.js";

export interface WorkloadFailure {
  node: string;
  app: string;
  workload: string;
  state: WorkloadStatus["state"];
  restarts: number;
  step: string | null;
  attempt: number | null;
  nextAttemptAt: string | null;
  cause: Cause | null;
  lastExit: Exit | null;
}

const failing = (w: WorkloadStatus): boolean => w.state === "failed" || w.state === "crash-looping";

const fingerprint = (w: WorkloadStatus): string =>
  JSON.stringify([
    w.state,
    w.specHash,
    w.operation?.cause?.where,
    w.operation?.cause?.message,
    w.lastExit?.at,
  ]);

export function newFailures(prev: NodeStatus | null | undefined, next: NodeStatus): WorkloadFailure[] {
  const before = new Map((prev?.workloads ?? []).map((w) => [w.id, w]));
  const out: WorkloadFailure[] = [];
  for (const w of next.workloads) {
    if (!failing(w)) continue;
    const p = before.get(w.id);
    if (p && failing(p) && fingerprint(p) === fingerprint(w)) continue;
    out.push({
      node: next.node,
      app: w.app,
      workload: w.id,
      state: w.state,
      restarts: w.restarts ?? 0,
      step: w.operation?.step ?? null,
      attempt: w.operation?.attempt ?? null,
      nextAttemptAt: w.operation?.nextAttemptAt ?? null,
      cause: w.operation?.cause ?? null,
      lastExit: w.lastExit ?? null,
    });
  }
  return out;
}

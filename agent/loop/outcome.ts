// What the loop does around one action, wherever it runs (in a pass, or in the restart lane beside
// it): say that it starts, then fold what it returned into the agent's state — the start and exit
// counted per spec, the failure backed off, health, a replaced instance left to drain — with its
// log line, its event and, for a failure, a status report at once (the failure is news). It runs
// nothing itself; the caller awaits the executor. A step of a restart asked with `berth restart`
// moves its job on; when it fails it ends the job and is not retried (no backoff: the old instance
// keeps serving), though an exit of its new instance still counts for the spec.
import type { Action, ActionKind, RestartAction } from "../core/actions.js";
import { clearEntry, defaultBackoffPolicy, recordFailure } from "../core/backoff.js";
import { causeOf } from "../core/cause.js";
import { isCrashLooping, recordExit, recordStart } from "../core/crash-loop.js";
import { actionSucceeded } from "../core/drift.js";
import { healthyNow, unhealthyNow } from "../core/health-track.js";
import { settleStep } from "../core/restart.js";
import { currentStatus, type LoopContext, type Running, saveMemory } from "./context.js";
import type { Outcome } from "./executor.js";

/** What status shows while `action` runs, with the switch that abandons it. */
export const runningOf = (action: Action): Running => ({
  workloadId: action.workloadId,
  step: action.reason,
  attempt: action.attempt,
  key: action.key,
  abort: new AbortController(),
});

/** Logs and emits the start of `action`. */
export function announce(ctx: LoopContext, action: Action): void {
  const { deps } = ctx;
  deps.emit({
    type: "action-started",
    kind: action.kind,
    workloadId: action.workloadId,
    reason: action.reason,
    attempt: action.attempt,
  });
  deps.logger.info(
    { action: action.kind, workload: action.workloadId || undefined, attempt: action.attempt },
    action.reason,
  );
}

export type Settled = "succeeded" | "failed" | "superseded";

/**
 * Records the outcome of `action` (which took `ms`). `pendingAfter`: whether work is still under
 * way once it failed (the status reported at once says so).
 */
export async function settle(
  ctx: LoopContext,
  action: Action,
  outcome: Outcome,
  ms: number,
  pendingAfter: () => boolean,
): Promise<Settled> {
  const { state, deps } = ctx;
  if (outcome.started) {
    state.crashes = recordStart(state.crashes, action.key, action.workloadId, outcome.started.at);
    saveMemory(ctx);
  }
  if (outcome.ok) {
    state.backoff = clearEntry(state.backoff, action.key);
    for (const h of outcome.healthy) state.health.set(h.ref, healthyNow(h.detail));
    if (outcome.retire) state.retiring.set(outcome.retire.name, outcome.retire.until);
    if (action.kind === "routes") state.ingressError = null;
    const before = state.drift;
    // An operator's restart puts nothing back: it is no repair of drift.
    if (action.kind !== "restart")
      state.drift = actionSucceeded(
        state.drift,
        { reason: action.reason, crashLooping: isCrashLooping(state.crashes.get(action.key)) },
        deps.now(),
      );
    if (state.drift !== before)
      deps.logger.info({ repaired: state.drift.repaired }, `repaired drift: ${action.reason}`);
    deps.logger.info(
      { action: action.kind, workload: action.workloadId || undefined, ms },
      `done: ${action.reason}`,
    );
    deps.emit({
      type: "action-succeeded",
      kind: action.kind,
      workloadId: action.workloadId,
      reason: action.reason,
      ms,
    });
    if (action.kind === "restart") settleRestart(ctx, action, { ok: true });
    return "succeeded";
  }
  if (outcome.superseded) {
    // Not a failure: the target is gone from the newest document, which the next pass works on.
    deps.logger.info({ action: action.kind, workload: action.workloadId || undefined, ms }, outcome.detail);
    deps.emit({
      type: "action-superseded",
      kind: action.kind,
      workloadId: action.workloadId,
      reason: action.reason,
      ms,
    });
    return "superseded";
  }
  const cause = causeOf(outcome.fact);
  if (outcome.exit) {
    state.crashes = recordExit(
      state.crashes,
      {
        key: action.key,
        workloadId: action.workloadId,
        ref: outcome.exit.ref,
        exit: { ...outcome.exit.exit, output: outcome.exit.output },
      },
      deps.random(),
    );
    saveMemory(ctx);
  }
  if (action.kind === "restart") {
    // Reported and ended here; not retried, so it leaves no backoff behind.
    if (outcome.unhealthy) state.health.set(outcome.unhealthy.ref, unhealthyNow(outcome.unhealthy.detail));
    deps.logger.warn(
      { action: action.kind, workload: action.workloadId, where: cause.where, err: outcome.error },
      `failed: ${action.reason}: ${cause.message}`,
    );
    deps.emit({
      type: "action-failed",
      kind: action.kind,
      workloadId: action.workloadId,
      reason: action.reason,
      error: outcome.error,
      cause,
      retryInMs: 0,
      ms,
    });
    settleRestart(ctx, action, { ok: false, error: outcome.error });
    state.pending = pendingAfter();
    deps.reporter.report(currentStatus(ctx));
    await stopFailed(ctx, action, outcome);
    return "failed";
  }
  state.backoff = recordFailure(
    state.backoff,
    {
      key: action.key,
      kind: action.kind as ActionKind,
      step: action.reason,
      workloadId: action.workloadId,
      error: outcome.error,
      cause,
    },
    deps.now(),
    deps.random(),
    defaultBackoffPolicy,
  );
  if (action.kind === "routes") state.ingressError = outcome.error;
  if (outcome.unhealthy) state.health.set(outcome.unhealthy.ref, unhealthyNow(outcome.unhealthy.detail));
  const due = Math.max(
    state.backoff.get(action.key)?.nextAttemptAt ?? 0,
    state.crashes.get(action.key)?.nextRestartAt ?? 0,
  );
  const retryInMs = Math.max(0, due - deps.now());
  deps.logger.warn(
    {
      action: action.kind,
      workload: action.workloadId || undefined,
      attempt: action.attempt,
      retryInMs,
      where: cause.where,
      err: outcome.error,
    },
    `failed: ${action.reason}: ${cause.message}`,
  );
  deps.emit({
    type: "action-failed",
    kind: action.kind,
    workloadId: action.workloadId,
    reason: action.reason,
    error: outcome.error,
    cause,
    retryInMs,
    ms,
  });
  // Said at once, before the rest of the pass: the failure is news (and the old version serves).
  state.pending = pendingAfter();
  deps.reporter.report(currentStatus(ctx));
  await stopFailed(ctx, action, outcome);
  return "failed";
}

/** Stops the new instance a failed action left behind (after the failure was reported). */
async function stopFailed(
  ctx: LoopContext,
  action: Action,
  outcome: Extract<Outcome, { error: string }>,
): Promise<void> {
  if (!outcome.cleanup) return;
  await outcome
    .cleanup()
    .catch((e: Error) =>
      ctx.deps.logger.warn(
        { workload: action.workloadId, err: e.message },
        "cannot stop the failed new instance",
      ),
    );
}

/** Moves the job of a `berth restart` step on (next workload, succeeded or failed) and says so. */
function settleRestart(
  ctx: LoopContext,
  action: RestartAction,
  outcome: { ok: true } | { ok: false; error: string },
): void {
  const { state, deps } = ctx;
  const job = state.restarts.find((j) => j.id === action.requestId);
  if (!job) return;
  const next = settleStep(job, action.workloadId, outcome, deps.now());
  state.restarts = state.restarts.map((j) => (j === job ? next : j));
  deps.restarts?.changed(next, next.state === "running" ? "running" : undefined, action.workloadId);
}

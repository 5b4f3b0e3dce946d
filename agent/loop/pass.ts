// One PROCESSING pass: observe, plan from that snapshot, execute the actions one at a time in
// SPEC §6 order (stopping early when a newer document arrives or the agent stops; an action whose
// target a newer document no longer wants is abandoned at once), record failures for backoff and
// exits per spec, observe again, mark the document applied when everything matches, and report
// status. The state machine around it lives in machine.ts.
import { type ActionKind, type RestartAction, removeKey, routesKey, workloadKey } from "../core/actions.js";
import { clearEntry, defaultBackoffPolicy, pruneBook, recordFailure } from "../core/backoff.js";
import { causeOf } from "../core/cause.js";
import { pruneCrashes, recordExit, recordStart, settleCrashes } from "../core/crash-loop.js";
import type { PassTrigger } from "../core/events.js";
import { healthyNow, unhealthyNow } from "../core/health-track.js";
import { type PlanResult, planActions } from "../core/planner.js";
import { expire, nextRestart, settleStep } from "../core/restart.js";
import {
  currentStatus,
  desiredIngress,
  fingerprint,
  healthMap,
  type LoopContext,
  observe,
  refreshHealth,
  saveMemory,
} from "./context.js";

export interface PassResult {
  /** Work remains that is not backing off: run another pass soon. */
  again: boolean;
  /** The runtime could not be observed: try again after this delay. */
  retryInMs?: number;
  /** A replaced instance finishes draining then (ms epoch): pass again to remove it. */
  wakeAt?: number;
}

/**
 * Drops backoff entries that no longer matter and those of workloads that turned healthy; ends
 * the crash streak of specs that have now run healthy long enough; forgets crash records and spec
 * commits of specs neither wanted nor running.
 */
export function settleBackoff(ctx: LoopContext): void {
  const { state } = ctx;
  const doc = state.doc;
  if (!doc) return;
  const live = new Set<string>();
  const healthyKeys = new Set<string>();
  for (const i of state.instances) {
    if (i.state !== "exited" && state.health.get(i.ref)?.health === "healthy")
      healthyKeys.add(workloadKey(i.workloadId, i.specHash));
  }
  for (const w of doc.workloads) {
    const key = workloadKey(w.id, w.specHash);
    live.add(key);
    if (healthyKeys.has(key) && state.backoff.has(key)) {
      ctx.deps.logger.info({ workload: w.id }, `${w.id} is healthy now; clearing its failure`);
      state.backoff = clearEntry(state.backoff, key);
    }
  }
  const crashLive = new Set(live);
  for (const i of state.instances) crashLive.add(workloadKey(i.workloadId, i.specHash));
  const crashes = pruneCrashes(settleCrashes(state.crashes, healthyKeys, ctx.deps.now()), crashLive);
  const specs = new Set([...doc.workloads.map((w) => w.specHash), ...state.instances.map((i) => i.specHash)]);
  let commitsChanged = false;
  for (const spec of state.specCommits.keys()) {
    if (!specs.has(spec)) {
      state.specCommits.delete(spec);
      commitsChanged = true;
    }
  }
  if (crashes !== state.crashes || commitsChanged) {
    state.crashes = crashes;
    saveMemory(ctx);
  }
  for (const i of state.instances) live.add(removeKey(i));
  const names = new Set(state.instances.map((i) => i.name));
  for (const name of state.retiring.keys()) if (!names.has(name)) state.retiring.delete(name);
  const ing = desiredIngress(ctx);
  if (ing) live.add(routesKey(ing.hash));
  state.backoff = pruneBook(state.backoff, live);
}

/**
 * Records the current document as applied when everything matches it: it would be converged
 * whatever happens outside the workloads (a rejected newer document, an unreachable reconciler).
 */
export function markAppliedIfComplete(ctx: LoopContext): void {
  const { state, deps } = ctx;
  const doc = state.doc;
  if (!doc || state.pending || state.applied?.hash === doc.hash) return;
  if (currentStatus(ctx, { problems: [] }).phase !== "converged") return;
  state.applied = { hash: doc.hash, commit: doc.source.commit };
  deps.store.saveApplied(state.applied);
}

function plan(ctx: LoopContext): PlanResult {
  const { state, deps } = ctx;
  const ing = desiredIngress(ctx);
  const planned = planActions({
    desired: state.doc as NonNullable<typeof state.doc>,
    instances: state.instances,
    health: healthMap(state),
    knownSpecs: state.knownSpecs,
    backoff: state.backoff,
    crashes: state.crashes,
    retiring: state.retiring,
    now: deps.now(),
    ingress:
      ing && state.doc
        ? { ...ing, routeCount: state.doc.routes.length, runningHash: state.ingressRunning }
        : null,
  });
  // A restart asked with `berth restart` takes its next step once nothing else is to be done to it.
  const restart = nextRestart({
    jobs: state.restarts,
    desired: state.doc as NonNullable<typeof state.doc>,
    instances: state.instances,
    health: healthMap(state),
    planned: [...planned.actions, ...planned.deferred.map((d) => d.action)],
  });
  if (restart) planned.actions.push(restart);
  return planned;
}

/** Restarts past their deadline fail, and say so. */
export function expireRestarts(ctx: LoopContext): void {
  const { state, deps } = ctx;
  if (state.restarts.length === 0) return;
  const r = expire(state.restarts, deps.now());
  state.restarts = r.jobs;
  for (const j of r.expired) deps.restarts?.changed(j);
}

/** Observes and checks health; false (with a problem recorded) when the runtime cannot be listed. */
async function snapshot(ctx: LoopContext): Promise<boolean> {
  try {
    await observe(ctx);
  } catch (e) {
    const message = (e as Error).message;
    ctx.state.problems.set("runtime", { code: "runtime-unavailable", message });
    ctx.deps.logger.error(
      { err: message },
      "cannot observe the runtime; nothing is changed until it answers",
    );
    return false;
  }
  await refreshHealth(ctx, true);
  settleBackoff(ctx);
  return true;
}

/** A restart step ended: its job moves on (or ends), and the reconciler and the journal hear of it. */
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

export async function runPass(
  ctx: LoopContext,
  trigger: PassTrigger,
  stopping: () => boolean,
): Promise<PassResult> {
  const { state, deps } = ctx;
  const doc = state.doc;
  if (!doc) return { again: false };
  deps.emit({ type: "pass-started", trigger, hash: doc.hash });
  expireRestarts(ctx);
  if (!(await snapshot(ctx))) {
    deps.reporter.report(currentStatus(ctx));
    return { again: false, retryInMs: 5_000 };
  }

  const planned = plan(ctx);
  state.pending = planned.actions.length > 0;
  if (state.pending) deps.reporter.report(currentStatus(ctx));
  for (const d of planned.deferred) {
    deps.logger.debug({ key: d.action.key, nextAttemptAt: d.until }, `backing off: ${d.action.reason}`);
  }

  let superseded = false;
  for (const [index, action] of planned.actions.entries()) {
    if (stopping()) break;
    if (state.doc !== doc) {
      superseded = true;
      break;
    }
    const abort = new AbortController();
    state.running = {
      workloadId: action.workloadId,
      step: action.reason,
      attempt: action.attempt,
      key: action.key,
      abort,
    };
    deps.reporter.report(currentStatus(ctx));
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
    const t0 = deps.now();
    const outcome = await deps.execute(action, abort.signal);
    state.running = null;
    const ms = deps.now() - t0;
    // An action cut short by the agent stopping did not fail: the next start resumes it.
    if (!outcome.ok && stopping()) break;
    if (outcome.started) {
      state.crashes = recordStart(state.crashes, action.key, action.workloadId, outcome.started.at);
      saveMemory(ctx);
    }
    if (outcome.ok) {
      state.backoff = clearEntry(state.backoff, action.key);
      for (const h of outcome.healthy) state.health.set(h.ref, healthyNow(h.detail));
      if (outcome.retire) state.retiring.set(outcome.retire.name, outcome.retire.until);
      if (action.kind === "routes") state.ingressError = null;
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
    } else if (outcome.superseded) {
      // Not a failure: the target is gone from the newest document, which the next pass works on.
      deps.logger.info({ action: action.kind, workload: action.workloadId || undefined, ms }, outcome.detail);
      deps.emit({
        type: "action-superseded",
        kind: action.kind,
        workloadId: action.workloadId,
        reason: action.reason,
        ms,
      });
      superseded = true;
      break;
    } else if (action.kind === "restart") {
      // A failed restart step is reported and ends its restart; it is not retried (the old
      // instance keeps serving), so it leaves no backoff behind. An exit of the new instance still
      // counts for its spec.
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
      if (outcome.unhealthy) state.health.set(outcome.unhealthy.ref, unhealthyNow(outcome.unhealthy.detail));
      deps.logger.warn(
        { action: action.kind, workload: action.workloadId, where: cause.where },
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
      deps.reporter.report(currentStatus(ctx));
      if (outcome.cleanup) {
        await outcome
          .cleanup()
          .catch((e: Error) =>
            deps.logger.warn(
              { workload: action.workloadId, err: e.message },
              "cannot stop the failed new instance",
            ),
          );
      }
    } else {
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
      // Only the actions left in this pass still count as work under way.
      state.pending = index < planned.actions.length - 1;
      deps.reporter.report(currentStatus(ctx));
      if (outcome.cleanup) {
        await outcome
          .cleanup()
          .catch((e: Error) =>
            deps.logger.warn(
              { workload: action.workloadId, err: e.message },
              "cannot stop the failed new instance",
            ),
          );
      }
    }
  }

  if (!(await snapshot(ctx))) {
    deps.reporter.report(currentStatus(ctx), true);
    return { again: false, retryInMs: 5_000 };
  }
  state.fingerprint = fingerprint(state);
  const after = plan(ctx);
  state.pending = superseded || (after.actions.length > 0 && !stopping());
  if (state.doc === doc) markAppliedIfComplete(ctx);
  state.lastPassHash = doc.hash;
  const status = currentStatus(ctx);
  deps.reporter.report(status, true);
  deps.emit({
    type: "pass-finished",
    hash: doc.hash,
    phase: status.phase,
    actions: planned.actions.length,
    deferred: after.deferred.length,
  });
  const wakeAt = after.draining.reduce<number | undefined>(
    (m, d) => (m === undefined || d.until < m ? d.until : m),
    undefined,
  );
  return { again: state.pending, ...(wakeAt !== undefined ? { wakeAt } : {}) };
}

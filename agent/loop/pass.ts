// One PROCESSING pass: observe, plan from that snapshot, execute the actions one at a time in
// SPEC §6 order (stopping early when a newer document arrives or the agent stops; an action whose
// target a newer document no longer wants is abandoned at once), record failures for backoff and
// exits per spec, count what it put back after drift (drift.ts), observe again, mark the document
// applied when everything matches, and report status. A step of a restart asked with `berth
// restart` is planned with the rest (context.ts plan) and runs last, like any action. While the
// pass waits on an action, the restart lane (restart-lane.ts) restarts exited instances of other
// workloads as their delay ends; an action of this pass that such a restart made out of date is
// left to the next pass. The state machine around it lives in machine.ts.
import { removeKey, routesKey, workloadKey } from "../core/actions.js";
import { clearEntry, pruneBook } from "../core/backoff.js";
import { pruneCrashes, settleCrashes } from "../core/crash-loop.js";
import { driftClosed, driftSeen } from "../core/drift.js";
import type { PassTrigger } from "../core/events.js";
import { expire } from "../core/restart.js";
import {
  currentStatus,
  desiredIngress,
  fingerprint,
  type LoopContext,
  observe,
  plan,
  refreshHealth,
  saveMemory,
} from "./context.js";
import { announce, runningOf, settle } from "./outcome.js";
import type { RestartLane } from "./restart-lane.js";

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
  if (!doc || state.pending || state.retiring.size > 0 || state.applied?.hash === doc.hash) return;
  if (currentStatus(ctx, { problems: [] }).phase !== "converged") return;
  state.applied = { hash: doc.hash, commit: doc.source.commit };
  deps.store.saveApplied(state.applied);
}

/** Restarts asked with `berth restart` that are past their deadline fail, and say so. */
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

export async function runPass(
  ctx: LoopContext,
  trigger: PassTrigger,
  stopping: () => boolean,
  lane: RestartLane,
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
  // A change no drift tick saw yet (it happened while the previous pass ran, or just now).
  if (
    state.lastPassHash === doc.hash &&
    state.fingerprint !== null &&
    fingerprint(state) !== state.fingerprint
  )
    state.drift = driftSeen(state.drift, state.applied?.hash === doc.hash);

  const planned = plan(ctx);
  state.pending = planned.actions.length > 0;
  if (state.pending) deps.reporter.report(currentStatus(ctx));
  for (const d of planned.deferred) {
    deps.logger.debug({ key: d.action.key, nextAttemptAt: d.until }, `backing off: ${d.action.reason}`);
  }

  lane.expect(planned);
  let superseded = false;
  for (const [index, action] of planned.actions.entries()) {
    if (stopping()) break;
    if (state.doc !== doc) {
      superseded = true;
      break;
    }
    // Planned before the lane restarted something: the next pass plans it from a fresh snapshot.
    const blocked = lane.blocks(action);
    if (blocked !== null) {
      deps.logger.info(
        { action: action.kind, workload: action.workloadId || undefined },
        `left for the next pass: ${action.reason} (${blocked})`,
      );
      continue;
    }
    const running = runningOf(action);
    state.running = running;
    deps.reporter.report(currentStatus(ctx));
    announce(ctx, action);
    const t0 = deps.now();
    const outcome = await lane.alongside(action, deps.execute(action, running.abort.signal));
    state.running = null;
    const ms = deps.now() - t0;
    // An action cut short by the agent stopping did not fail: the next start resumes it.
    if (!outcome.ok && stopping()) break;
    // After a failure, only the actions left in this pass (and restarts under way) count as work under way.
    const settled = await settle(
      ctx,
      action,
      outcome,
      ms,
      () => index < planned.actions.length - 1 || lane.busy(),
    );
    if (settled === "superseded") {
      superseded = true;
      break;
    }
  }
  // Restarts still under way finish before the pass observes again and says where it stands.
  await lane.drain();
  if (lane.superseded) superseded = true;

  if (!(await snapshot(ctx))) {
    deps.reporter.report(currentStatus(ctx), true);
    return { again: false, retryInMs: 5_000 };
  }
  state.fingerprint = fingerprint(state);
  const after = plan(ctx);
  state.pending = superseded || (after.actions.length > 0 && !stopping());
  if (state.doc === doc) markAppliedIfComplete(ctx);
  state.lastPassHash = doc.hash;
  // Nothing left to do for this document: the drift seen so far is repaired (or was never ours to).
  if (state.doc === doc && after.actions.length === 0 && after.deferred.length === 0)
    state.drift = driftClosed(state.drift);
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

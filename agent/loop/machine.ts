// The agent's state machine. IDLE: wait for a trigger — a new accepted document, drift seen by the
// periodic observation (killed process, removed container, edited Caddy config), a backoff retry
// falling due, or work left over. PROCESSING: one pass (pass.ts), then back to IDLE; while the pass
// waits on an action, its restart lane (restart-lane.ts) restarts exited instances of other
// workloads, woken here when the runtime reports an exit. Passes (with their lane) and drift ticks
// run one at a time on a single queue, so they never race on the state. Documents are checked here
// before they can replace the one being applied; a new one that no longer wants the target of an
// action under way (e.g. a rollback while a doomed version is waited on) stops that wait at once.
// Restarts asked with `berth restart` are accepted or refused here and run as steps of the passes.
import type { NodeStatus, RestartRequest } from "../../schema/index.js";
import { workloadKey } from "../core/actions.js";
import { nextDue } from "../core/backoff.js";
import { nextRestartDue } from "../core/crash-loop.js";
import { checkDocument } from "../core/document.js";
import { driftClosed, driftSeen } from "../core/drift.js";
import type { PassTrigger } from "../core/events.js";
import { acceptRestart, dropForDocument } from "../core/restart.js";
import {
  currentStatus,
  fingerprint,
  type LoopContext,
  observe,
  refreshHealth,
  saveMemory,
  setReach,
} from "./context.js";
import { expireRestarts, markAppliedIfComplete, runPass, settleBackoff } from "./pass.js";
import { createRestartLane, type RestartLane } from "./restart-lane.js";

export interface Machine {
  /** Starts the queue and the drift ticker; runs a first pass when a document is loaded. */
  start(): void;
  /** A document fetched from the reconciler (raw JSON): checked, then applied or rejected. */
  offer(raw: unknown): Promise<void>;
  /** A document that could not even be read (not JSON, too large): rejected, what runs is kept. */
  reject(code: string, message: string, hash: string | null): void;
  /** Records (message) or clears (null) a problem about reaching the reconciler. */
  setReconcilerProblem(code: string, message: string | null): void;
  /** The poller got its first answer (so idle() can resolve without a document). */
  markPolled(): void;
  /** A restart asked with `berth restart`: accepted (and run by the next passes) or refused, and reported. */
  restart(req: RestartRequest): void;
  /** A runtime saw an instance exit by itself: observe soon (after the pass under way, if any). */
  runtimeChanged(): void;
  idle(): Promise<void>;
  status(): NodeStatus;
  stop(): Promise<void>;
}

/** Consecutive passes started right after one that left work; beyond it wait for the next tick. */
const maxRepeats = 3;

export function createMachine(
  ctx: LoopContext,
  opts: { driftIntervalMs: number; healthIntervalMs: number },
): Machine {
  const { state, deps } = ctx;
  let pendingTrigger: PassTrigger | null = null;
  let tickDue = false;
  let wake: (() => void) | null = null;
  let stopping = false;
  let processing = false;
  let polled = false;
  let repeats = 0;
  let lastFullHealth = 0;
  let loopDone: Promise<void> = Promise.resolve();
  let ticker: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let waiters: (() => void)[] = [];
  /** The restart lane of the pass under way, if any. */
  let lane: RestartLane | null = null;

  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const trigger = (t: PassTrigger) => {
    pendingTrigger ??= t;
    poke();
  };

  const isIdle = () =>
    !processing &&
    pendingTrigger === null &&
    !state.pending &&
    state.retiring.size === 0 &&
    (state.doc ? state.lastPassHash === state.doc.hash : polled);
  const notifyIdle = () => {
    if (!isIdle()) return;
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };

  function scheduleRetry(extraMs?: number, wakeAt?: number): void {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    const now = deps.now();
    const due = nextDue(state.backoff, now);
    const restart = nextRestartDue(state.crashes, now);
    const at = Math.min(
      due ?? Number.POSITIVE_INFINITY,
      restart ?? Number.POSITIVE_INFINITY,
      extraMs !== undefined ? now + extraMs : Number.POSITIVE_INFINITY,
      wakeAt ?? Number.POSITIVE_INFINITY,
    );
    if (!Number.isFinite(at)) return;
    retryTimer = setTimeout(
      () => {
        retryTimer = null;
        trigger("backoff");
      },
      Math.max(0, at - now) + 5,
    );
    retryTimer.unref();
  }

  /** IDLE work: observe, re-check health, and wake a pass on drift. Never changes anything itself. */
  async function tick(): Promise<void> {
    if (!state.doc) return;
    expireRestarts(ctx);
    try {
      await observe(ctx);
    } catch (e) {
      deps.logger.warn({ err: (e as Error).message }, "drift check: cannot observe the runtime");
      state.problems.set("runtime", { code: "runtime-unavailable", message: (e as Error).message });
      deps.reporter.report(currentStatus(ctx));
      return;
    }
    // Every instance is re-checked at the health pace; in between only those not known yet.
    const all = deps.now() - lastFullHealth >= opts.healthIntervalMs;
    if (all) lastFullHealth = deps.now();
    await refreshHealth(ctx, !all);
    settleBackoff(ctx);
    markAppliedIfComplete(ctx);
    const fp = fingerprint(state);
    if (fp !== state.fingerprint) {
      deps.logger.info("observed state changed since the last pass (drift); processing");
      deps.emit({ type: "drift", detail: "observed state changed" });
      state.drift = driftSeen(state.drift, state.applied?.hash === state.doc.hash);
      trigger("drift");
    } else if (state.pending) {
      trigger("repeat");
    } else {
      deps.reporter.report(currentStatus(ctx));
    }
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      if (pendingTrigger === null && !tickDue) {
        notifyIdle();
        await new Promise<void>((r) => {
          wake = r;
        });
        continue;
      }
      if (pendingTrigger !== null) {
        const t = pendingTrigger;
        pendingTrigger = null;
        processing = true;
        let retryInMs: number | undefined;
        let wakeAt: number | undefined;
        const isStopping = () => stopping;
        lane = createRestartLane(ctx, { lookEveryMs: opts.driftIntervalMs, stopping: isStopping });
        try {
          const r = await runPass(ctx, t, isStopping, lane);
          retryInMs = r.retryInMs;
          wakeAt = r.wakeAt;
          repeats = r.again ? repeats + 1 : 0;
          if (r.again && repeats <= maxRepeats) pendingTrigger ??= "repeat";
        } catch (e) {
          deps.logger.error({ err: (e as Error).stack }, "processing pass failed (this is a bug)");
          retryInMs = 5_000;
        } finally {
          processing = false;
          lane = null;
        }
        if (!stopping) scheduleRetry(retryInMs, wakeAt);
      } else {
        tickDue = false;
        try {
          await tick();
        } catch (e) {
          deps.logger.error({ err: (e as Error).stack }, "drift check failed (this is a bug)");
        }
      }
    }
    notifyIdle();
  }

  function reject(code: string, message: string, hash: string | null): void {
    if (hash) state.desiredHash = hash;
    const previous = state.problems.get("document");
    state.problems.set("document", { code, message });
    if (previous?.message !== message) {
      deps.logger.warn({ code }, `rejected desired document: ${message}; keeping what runs`);
      deps.emit({ type: "document-rejected", code, message });
    }
    deps.reporter.report(currentStatus(ctx));
    notifyIdle();
  }

  async function offer(raw: unknown): Promise<void> {
    const check = checkDocument(raw, deps.node);
    if (!check.ok) return reject(check.code, check.message, check.hash);
    const doc = check.doc;
    state.desiredHash = doc.hash;
    const hadProblem = state.problems.delete("document");
    if (state.doc?.hash === doc.hash) {
      if (hadProblem) deps.reporter.report(currentStatus(ctx));
      notifyIdle();
      return;
    }
    // Keep the specs of the previous document too, to describe what a replace changes.
    state.knownSpecs = new Map(
      [...(state.doc?.workloads ?? []), ...doc.workloads].map((w) => [w.specHash, w]),
    );
    state.doc = doc;
    // What the new document's pass does is a deploy, not a repair.
    state.drift = driftClosed(state.drift);
    // A restart never outlives the document it was asked for: one whose app changed is dropped.
    const drops = dropForDocument(state.restarts, doc, deps.now());
    state.restarts = drops.jobs;
    for (const j of drops.dropped) deps.restarts?.changed(j);
    let newSpecs = false;
    for (const w of doc.workloads) {
      if (state.specCommits.has(w.specHash)) continue;
      state.specCommits.set(w.specHash, doc.source.commit);
      newSpecs = true;
    }
    if (newSpecs) saveMemory(ctx);
    // Stop waiting for a target the new document no longer wants (start, create, replace of a
    // spec), in the pass and in the restart lane beside it.
    for (const r of [...(state.running ? [state.running] : []), ...state.restarting.values()]) {
      if (r.workloadId === "" || r.key.startsWith("remove:")) continue;
      const wanted = doc.workloads.some((w) => workloadKey(w.id, w.specHash) === r.key);
      if (!wanted) {
        deps.logger.info(
          { workload: r.workloadId },
          `a newer document no longer wants ${r.key}: abandoning ${r.step}`,
        );
        r.abort.abort();
      }
    }
    try {
      await deps.drivers.ensure(new Set(doc.workloads.map((w) => w.runtime)));
    } catch (e) {
      // The pass will fail to list and say so; the document is still the one to apply.
      deps.logger.error({ err: (e as Error).message }, "cannot set up the runtime driver");
    }
    deps.logger.info(
      {
        hash: doc.hash,
        commit: doc.source.commit,
        workloads: doc.workloads.length,
        routes: doc.routes.length,
      },
      "accepted desired document",
    );
    deps.emit({ type: "document-accepted", hash: doc.hash, commit: doc.source.commit });
    deps.store.saveDesired(doc);
    setReach(ctx, await deps.findReach(doc));
    if (state.reach.kind === "not-local")
      deps.logger.error({ address: state.reach.address }, state.reach.message);
    trigger("document");
  }

  return {
    start() {
      loopDone = loop();
      ticker = setInterval(() => {
        if (pendingTrigger === null && !processing) {
          tickDue = true;
          poke();
        }
      }, opts.driftIntervalMs);
      ticker.unref();
      if (state.doc) trigger("startup");
    },
    offer,
    reject,
    setReconcilerProblem(code, message) {
      const before = state.problems.get("reconciler");
      if (message === null) {
        if (!before) return;
        state.problems.delete("reconciler");
      } else {
        if (before?.code === code) return;
        state.problems.set("reconciler", { code, message });
      }
      deps.reporter.report(currentStatus(ctx));
    },
    markPolled() {
      polled = true;
      notifyIdle();
    },
    restart(req) {
      const now = deps.now();
      const r = acceptRestart(req, state.doc, state.restarts, now);
      if (!r.ok) {
        const refused = {
          id: req.id,
          app: req.app,
          generation: req.generation,
          workloads: req.workloads,
          remaining: [],
          done: 0,
          total: req.workloads.length,
          state: r.state,
          message: r.message,
          deadline: now,
          at: now,
        };
        deps.restarts?.changed(refused);
        return;
      }
      // Keep what is under way and the last outcome of other apps; older outcomes are forgotten.
      const finished = new Map<string, (typeof state.restarts)[number]>();
      for (const j of state.restarts) if (j.state !== "running") finished.set(j.app, j);
      state.restarts = [
        ...state.restarts.filter((j) => j.state === "running"),
        ...[...finished.values()].filter((j) => j.app !== r.job.app),
        r.job,
      ];
      deps.restarts?.changed(r.job, "accepted");
      deps.reporter.report(currentStatus(ctx));
      trigger("restart");
    },
    runtimeChanged() {
      if (stopping) return;
      tickDue = true;
      // A pass under way may be waiting on a long health check: its restart lane looks now.
      lane?.wake();
      poke();
    },
    idle() {
      if (isIdle() && !stopping) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    status: () => currentStatus(ctx),
    async stop() {
      stopping = true;
      if (ticker) clearInterval(ticker);
      if (retryTimer) clearTimeout(retryTimer);
      lane?.wake();
      poke();
      await loopDone;
      const ws = waiters;
      waiters = [];
      for (const w of ws) w();
    },
  };
}

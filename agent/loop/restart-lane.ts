// The restart lane: while a pass waits on one of its actions (a create or replace waits for health
// up to its start period and more), exited instances of other workloads are restarted as soon as
// their crash-loop delay is over, instead of staying down until the pass is done. The lane looks
// when the runtime reports an exit (wake), when a restart it knows of falls due, and every
// `lookEveryMs` (containers do not report exits); it lists instances (counting exits), plans from
// that snapshot and starts what agent/core/restart-lane.ts lets through: restarts of exited
// instances of wanted specs, never on a workload or a port an action under way uses. The pass, in
// turn, leaves to its next run any action that the lane's restarts would clash with.
//
// Race-free by construction: the lane has no flow of its own. It runs inside the pass's await —
// the pass hands it the promise of its action (alongside) and, at the end, waits for the lane to
// drain — so observing, planning and folding outcomes into the state happen one step at a time on
// the machine's single queue, as before. The executor calls in flight only touch the runtime,
// never the agent's state; their outcomes are folded (outcome.ts) when the lane next runs.
import type { Action } from "../core/actions.js";
import type { PlanResult } from "../core/planner.js";
import { clashes, pickRestarts, portsOf, type UnderWay } from "../core/restart-lane.js";
import { currentStatus, type LoopContext, observe, plan } from "./context.js";
import type { Outcome } from "./executor.js";
import { announce, runningOf, settle } from "./outcome.js";

export interface RestartLane {
  /** Awaits `work` (the outcome of the pass's `action`), restarting exited instances meanwhile. */
  alongside(action: Action, work: Promise<Outcome>): Promise<Outcome>;
  /** Why `action` must be left to the next pass (the lane restarted its workload, or a clash), or null. */
  blocks(action: Action): string | null;
  /** Whether restarts are under way. */
  busy(): boolean;
  /** The pass's own plan: the restarts it defers tell the lane when to look next. */
  expect(planned: PlanResult): void;
  /** Waits until no restart is under way (starting those that fall due meanwhile), folding outcomes. */
  drain(): Promise<void>;
  /** A restart was abandoned because a newer document no longer wants it. */
  readonly superseded: boolean;
  /** Something exited (or the agent stops): look again now. */
  wake(): void;
}

interface InFlight {
  action: Action;
  done: Promise<{ kind: "restart"; workloadId: string; outcome: Outcome; ms: number }>;
}

export function createRestartLane(
  ctx: LoopContext,
  opts: { lookEveryMs: number; stopping: () => boolean },
): RestartLane {
  const { state, deps } = ctx;
  const inflight = new Map<string, InFlight>();
  /** Workloads the lane acted on in this pass: the pass's plan of them is out of date. */
  const touched = new Set<string>();
  let main: Action | null = null;
  let woken = false;
  let wakeUp: (() => void) | null = null;
  let lastLookAt = deps.now();
  let nextDueAt: number | undefined;
  let superseded = false;

  const underWay = (): UnderWay => {
    const actions = [...(main ? [main] : []), ...[...inflight.values()].map((f) => f.action)];
    return {
      workloads: new Set(actions.map((a) => a.workloadId).filter((id) => id !== "")),
      ports: new Set(actions.flatMap(portsOf)),
    };
  };

  function launch(action: Action): void {
    touched.add(action.workloadId);
    const running = runningOf(action);
    state.restarting.set(action.workloadId, running);
    state.pending = true;
    deps.reporter.report(currentStatus(ctx));
    announce(ctx, action);
    const t0 = deps.now();
    const done = deps
      .execute(action, running.abort.signal)
      .catch(
        (e: Error): Outcome => ({
          ok: false,
          error: e.message,
          fact: { kind: "agent", detail: `restarting ${action.workloadId}: ${e.message}` },
        }),
      )
      .then((outcome) => ({
        kind: "restart" as const,
        workloadId: action.workloadId,
        outcome,
        ms: deps.now() - t0,
      }));
    inflight.set(action.workloadId, { action, done });
  }

  /** Lists instances (counting exits) and starts the restarts that are due and clash with nothing. */
  async function look(): Promise<void> {
    lastLookAt = deps.now();
    if (!state.doc || opts.stopping()) return;
    const under = underWay();
    try {
      await observe(ctx, { busy: under.workloads, instancesOnly: true });
    } catch (e) {
      // The pass's own snapshot says so when the runtime cannot list; the lane just waits.
      deps.logger.debug({ err: (e as Error).message }, "restart lane: cannot observe the runtime");
      return;
    }
    const pick = pickRestarts(plan(ctx), under, state.instances);
    nextDueAt = pick.nextDueAt;
    for (const a of pick.launch) launch(a);
    // What runs now (an exit counted, a restarted instance): unchanged reports are not re-sent.
    deps.reporter.report(currentStatus(ctx));
  }

  async function fold(workloadId: string, outcome: Outcome, ms: number): Promise<void> {
    const f = inflight.get(workloadId);
    inflight.delete(workloadId);
    state.restarting.delete(workloadId);
    if (!f) return;
    // Cut short by the agent stopping: not a failure; the next start resumes it.
    if (!outcome.ok && opts.stopping()) return;
    const pending = state.pending;
    const r = await settle(ctx, f.action, outcome, ms, () => pending);
    if (r === "superseded") superseded = true;
    // Observe again (and report) before anything else: the restarted instance replaced the exited one.
    woken = true;
  }

  /** Serves the lane until `until` settles (its value is returned), or, without it, until it is empty. */
  async function serve(until: Promise<Outcome> | null): Promise<Outcome | null> {
    const mainDone = until?.then((outcome) => ({ kind: "main" as const, outcome }));
    // Handled by the race below even while a look is under way (the executor never rejects anyway).
    mainDone?.catch(() => {});
    for (;;) {
      if (opts.stopping())
        for (const f of inflight.values()) state.restarting.get(f.action.workloadId)?.abort.abort();
      if (!mainDone && inflight.size === 0) return null;
      const now = deps.now();
      const lookAt = Math.min(nextDueAt ?? Number.POSITIVE_INFINITY, lastLookAt + opts.lookEveryMs);
      if ((woken || now >= lookAt) && !opts.stopping()) {
        woken = false;
        await look();
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      const waits: Promise<
        | { kind: "main"; outcome: Outcome }
        | { kind: "restart"; workloadId: string; outcome: Outcome; ms: number }
        | { kind: "wake" }
      >[] = [
        ...(mainDone ? [mainDone] : []),
        ...[...inflight.values()].map((f) => f.done),
        new Promise<{ kind: "wake" }>((resolve) => {
          wakeUp = () => resolve({ kind: "wake" });
          if (!opts.stopping()) timer = setTimeout(wakeUp, Math.max(0, lookAt - now) + 5);
        }),
      ];
      const ev = await Promise.race(waits);
      wakeUp = null;
      if (timer) clearTimeout(timer);
      if (ev.kind === "main") return ev.outcome;
      if (ev.kind === "restart") await fold(ev.workloadId, ev.outcome, ev.ms);
    }
  }

  return {
    async alongside(action, work) {
      main = action;
      try {
        return (await serve(work)) as Outcome;
      } finally {
        main = null;
      }
    },
    blocks(action) {
      if (touched.has(action.workloadId)) return `the restart lane acted on ${action.workloadId} meanwhile`;
      const under = underWay();
      return clashes(action, under, []);
    },
    busy: () => inflight.size > 0,
    expect(planned) {
      nextDueAt = pickRestarts(planned, { workloads: new Set(), ports: new Set() }, []).nextDueAt;
    },
    async drain() {
      await serve(null);
    },
    get superseded() {
      return superseded;
    },
    wake() {
      woken = true;
      wakeUp?.();
    },
  };
}

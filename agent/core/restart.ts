// `berth restart` on one node, as the agent core sees it: a job per request that restarts the
// app's workloads one at a time (rolling), each like a replace by itself — the new instance starts
// (in the other slot for start-first), must become healthy, then the old one stops — without a
// config change. A job is refused or dropped when the node's document does not run exactly the
// workloads it was asked for: an imperative action never outlives the generation it was asked in.
// A failed step ends the job (the old instance keeps serving); it is not retried. Pure.
import type { DesiredState, RestartRequest, RestartState, Workload } from "../../schema/index.js";
import { type Action, type ObservedInstance, otherSlot, type RestartAction, workloadKey } from "./actions.js";
import type { Health } from "./planner.js";

export interface RestartJob {
  id: string;
  app: string;
  generation: number;
  /** The app's workloads on this node when it was asked (id → specHash). */
  workloads: { id: string; specHash: string }[];
  /** Workload ids still to restart, in order. */
  remaining: string[];
  done: number;
  total: number;
  state: RestartState["state"];
  message: string;
  /** ms epoch after which a job not finished fails. */
  deadline: number;
  /** ms epoch of the last change. */
  at: number;
}

const sameWorkloads = (
  a: readonly { id: string; specHash: string }[],
  b: readonly { id: string; specHash: string }[],
): boolean => {
  if (a.length !== b.length) return false;
  const m = new Map(a.map((w) => [w.id, w.specHash]));
  return b.every((w) => m.get(w.id) === w.specHash);
};

const appWorkloads = (doc: DesiredState | null, app: string) =>
  (doc?.workloads ?? []).filter((w) => w.app === app).map((w) => ({ id: w.id, specHash: w.specHash }));

const short = (commit: string) => (/^[0-9a-f]{40}$/.test(commit) ? commit.slice(0, 7) : commit);

/** A new job for `req`, or the reason it cannot run here (reported as dropped / failed). */
export function acceptRestart(
  req: RestartRequest,
  doc: DesiredState | null,
  jobs: readonly RestartJob[],
  now: number,
): { ok: true; job: RestartJob } | { ok: false; state: "dropped" | "failed"; message: string } {
  const mine = appWorkloads(doc, req.app);
  if (!sameWorkloads(mine, req.workloads)) {
    return {
      ok: false,
      state: "dropped",
      message: `dropped: this node's document (${doc ? short(doc.source.commit) : "none"}) no longer runs ${req.app} as in generation ${req.generation}; nothing was restarted`,
    };
  }
  const busy = jobs.find((j) => j.app === req.app && (j.state === "queued" || j.state === "running"));
  if (busy) {
    return {
      ok: false,
      state: "failed",
      message: `a restart of ${req.app} (${busy.id}) is already under way on this node`,
    };
  }
  const ids = req.workloads.map((w) => w.id).sort((x, y) => x.localeCompare(y, "en", { numeric: true }));
  return {
    ok: true,
    job: {
      id: req.id,
      app: req.app,
      generation: req.generation,
      workloads: req.workloads.map((w) => ({ ...w })),
      remaining: ids,
      done: 0,
      total: ids.length,
      state: "running",
      message: `restarting ${ids.length} instance${ids.length === 1 ? "" : "s"} of ${req.app}, one at a time`,
      deadline: now + req.timeoutSeconds * 1000,
      at: now,
    },
  };
}

/** Jobs under way whose app the new document changed: dropped, saying so. Finished jobs of a changed app are forgotten. */
export function dropForDocument(
  jobs: readonly RestartJob[],
  doc: DesiredState,
  now: number,
): { jobs: RestartJob[]; dropped: RestartJob[] } {
  const kept: RestartJob[] = [];
  const dropped: RestartJob[] = [];
  for (const j of jobs) {
    if (sameWorkloads(appWorkloads(doc, j.app), j.workloads)) {
      kept.push(j);
      continue;
    }
    if (j.state !== "running" && j.state !== "queued") continue;
    const d: RestartJob = {
      ...j,
      state: "dropped",
      remaining: [],
      at: now,
      message: `dropped: a new document (${short(doc.source.commit)}) changed ${j.app} before the restart finished (${j.done} of ${j.total} restarted); the deploy takes over`,
    };
    kept.push(d);
    dropped.push(d);
  }
  return { jobs: kept, dropped };
}

/** Jobs past their deadline fail. */
export function expire(
  jobs: readonly RestartJob[],
  now: number,
): { jobs: RestartJob[]; expired: RestartJob[] } {
  const expired: RestartJob[] = [];
  const out = jobs.map((j) => {
    if (j.state !== "running" || now < j.deadline) return j;
    const e: RestartJob = {
      ...j,
      state: "failed",
      remaining: [],
      at: now,
      message: `not finished in time: ${j.done} of ${j.total} restarted; ${j.remaining[0] ?? "an instance"} never became ready to restart (it must run its current version and have no other step pending)`,
    };
    expired.push(e);
    return e;
  });
  return { jobs: out, expired };
}

/**
 * The next restart step, if one may run now: the first running job's next workload, when the
 * plan has nothing else for it and one live instance of it runs the desired spec (a workload in
 * the middle of a deploy, or still draining a replaced instance, waits).
 */
export function nextRestart(input: {
  jobs: readonly RestartJob[];
  desired: DesiredState;
  instances: readonly ObservedInstance[];
  health: ReadonlyMap<string, Health>;
  planned: readonly Action[];
}): RestartAction | null {
  const job = input.jobs.find((j) => j.state === "running" && j.remaining.length > 0);
  if (!job) return null;
  const id = job.remaining[0] as string;
  const w = input.desired.workloads.find((x) => x.id === id) as Workload | undefined;
  if (!w || input.planned.some((a) => a.workloadId === id)) return null;
  const mine = input.instances.filter((i) => i.workloadId === id);
  const live = mine.filter((i) => i.state !== "exited" && i.specHash === w.specHash);
  if (live.length !== 1 || mine.length !== 1) return null;
  const old = live[0] as ObservedInstance;
  const n = job.done + 1;
  return {
    kind: "restart",
    workloadId: id,
    app: w.app,
    reason: `restart ${id}: asked with berth restart (${job.id}, ${n} of ${job.total})`,
    // The workload's key: a newer document that no longer wants this spec cuts the step short.
    key: workloadKey(id, w.specHash),
    attempt: 1,
    workload: w,
    old,
    strategy: w.strategy,
    slot: w.strategy === "start-first" ? otherSlot(old.slot) : old.slot,
    requestId: job.id,
  };
}

/** The job after one of its steps ended. */
export function settleStep(
  job: RestartJob,
  workloadId: string,
  outcome: { ok: true } | { ok: false; error: string },
  now: number,
): RestartJob {
  if (job.remaining[0] !== workloadId || job.state !== "running") return job;
  if (!outcome.ok) {
    return {
      ...job,
      state: "failed",
      remaining: [],
      at: now,
      message: `${workloadId} could not be restarted: ${outcome.error} (${job.done} of ${job.total} restarted; the others were not touched)`,
    };
  }
  const remaining = job.remaining.slice(1);
  const done = job.done + 1;
  return remaining.length === 0
    ? {
        ...job,
        remaining,
        done,
        state: "succeeded",
        at: now,
        message: `restarted ${done} of ${job.total} instances of ${job.app}`,
      }
    : { ...job, remaining, done, at: now, message: `restarted ${workloadId} (${done} of ${job.total})` };
}

/** What status shows: jobs under way, and the last outcome per app (newest first, at most 20). */
export function restartStates(jobs: readonly RestartJob[]): RestartState[] {
  const latest = new Map<string, RestartJob>();
  for (const j of jobs) {
    const cur = latest.get(j.app);
    if (!cur || j.at >= cur.at) latest.set(j.app, j);
  }
  return [...latest.values()]
    .sort((a, b) => b.at - a.at)
    .slice(0, 20)
    .map((j) => ({
      id: j.id,
      app: j.app,
      state: j.state,
      message: j.message.slice(0, 4000),
      done: j.done,
      total: j.total,
      at: new Date(j.at).toISOString(),
    }));
}

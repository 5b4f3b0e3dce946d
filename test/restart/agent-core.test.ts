// The agent core of `berth restart`: accepting a job against the node's document, its steps one
// workload at a time (waiting while anything else is planned for that workload), settling steps,
// dropping a job whose app a new document changes, expiring one that never finishes, and what
// status shows. Table tests over plain data.
import { describe, expect, it } from "vitest";
import type { Action } from "../../agent/core/actions.js";
import {
  acceptRestart,
  dropForDocument,
  expire,
  nextRestart,
  type RestartJob,
  restartStates,
  settleStep,
} from "../../agent/core/restart.js";
import type { RestartRequest } from "../../schema/index.js";
import { desiredDoc, instance, workload } from "../agent/helpers/docs.js";

const w0 = workload({ app: "web", replica: 0, hostPort: 20000 });
const w1 = workload({ app: "web", replica: 1, hostPort: 20002 });
const api = workload({ app: "api", replica: 0, hostPort: 20004 });
const doc = desiredDoc("n", [w0, w1, api], [], "a".repeat(40));
const req = (over: Partial<RestartRequest> = {}): RestartRequest => ({
  kind: "restart",
  id: "restart-0001",
  app: "web",
  generation: 4,
  workloads: [
    { id: w1.id, specHash: w1.specHash },
    { id: w0.id, specHash: w0.specHash },
  ],
  timeoutSeconds: 60,
  ...over,
});
function job(over: Partial<RestartJob> = {}): RestartJob {
  const r = acceptRestart(req(), doc, [], 1_000);
  if (!r.ok) throw new Error(r.message);
  return { ...r.job, ...over };
}

describe("acceptRestart", () => {
  it("makes a job over the app's workloads, in replica order", () => {
    expect(job()).toMatchObject({
      id: "restart-0001",
      app: "web",
      remaining: ["web-0", "web-1"],
      done: 0,
      total: 2,
      state: "running",
      deadline: 61_000,
      message: "restarting 2 instances of web, one at a time",
    });
  });
  it("drops a request whose workloads this document does not run", () => {
    const changed = desiredDoc("n", [
      workload({ app: "web", replica: 0, hostPort: 20000, env: { V: "2" } }),
      w1,
    ]);
    const r = acceptRestart(req(), changed, [], 0);
    expect(r).toMatchObject({ ok: false, state: "dropped" });
    if (!r.ok) expect(r.message).toMatch(/no longer runs web as in generation 4; nothing was restarted/);
    expect(acceptRestart(req({ workloads: [{ id: w0.id, specHash: w0.specHash }] }), doc, [], 0).ok).toBe(
      false,
    );
    expect(acceptRestart(req(), null, [], 0).ok).toBe(false);
  });
  it("refuses a second restart of the app while one runs", () => {
    const r = acceptRestart(req({ id: "restart-0002" }), doc, [job()], 0);
    expect(r).toMatchObject({ ok: false, state: "failed" });
  });
});

describe("nextRestart", () => {
  const a0 = instance(w0, "a");
  const a1 = instance(w1, "a");
  const base = { desired: doc, health: new Map(), planned: [] as Action[] };
  it("restarts the next workload start-first into its other slot", () => {
    const a = nextRestart({ ...base, jobs: [job()], instances: [a0, a1] });
    expect(a).toMatchObject({
      kind: "restart",
      workloadId: "web-0",
      app: "web",
      old: a0,
      strategy: "start-first",
      slot: "b",
      requestId: "restart-0001",
      reason: "restart web-0: asked with berth restart (restart-0001, 1 of 2)",
    });
  });
  it("restarts stop-first workloads in their own slot", () => {
    const sf = workload({ app: "db", replica: 0, hostPort: 20010, strategy: "stop-first" });
    const d = desiredDoc("n", [sf]);
    const r = acceptRestart(req({ app: "db", workloads: [{ id: sf.id, specHash: sf.specHash }] }), d, [], 0);
    if (!r.ok) throw new Error(r.message);
    const a = nextRestart({ ...base, desired: d, jobs: [r.job], instances: [instance(sf, "a")] });
    expect(a).toMatchObject({ strategy: "stop-first", slot: "a" });
  });
  const waits: [string, Parameters<typeof nextRestart>[0]][] = [
    [
      "another action is planned for the workload",
      {
        ...base,
        jobs: [job()],
        instances: [a0, a1],
        planned: [{ kind: "start", workloadId: "web-0" } as Action],
      },
    ],
    ["the workload has no instance", { ...base, jobs: [job()], instances: [a1] }],
    [
      "its instance exited",
      { ...base, jobs: [job()], instances: [instance(w0, "a", { state: "exited" }), a1] },
    ],
    [
      "it runs another spec",
      {
        ...base,
        jobs: [job()],
        instances: [instance(w0, "a", { specHash: `sha256:${"9".repeat(64)}` }), a1],
      },
    ],
    [
      "a replaced instance still drains beside it",
      { ...base, jobs: [job()], instances: [a0, instance(w0, "b"), a1] },
    ],
    ["no job runs", { ...base, jobs: [job({ state: "succeeded", remaining: [] })], instances: [a0, a1] }],
  ];
  it.each(waits)("waits while %s", (_n, input) => expect(nextRestart(input)).toBeNull());
});

describe("settleStep", () => {
  it("counts a step done and finishes after the last", () => {
    const one = settleStep(job(), "web-0", { ok: true }, 2_000);
    expect(one).toMatchObject({
      state: "running",
      done: 1,
      remaining: ["web-1"],
      message: "restarted web-0 (1 of 2)",
      at: 2_000,
    });
    const two = settleStep(one, "web-1", { ok: true }, 3_000);
    expect(two).toMatchObject({
      state: "succeeded",
      done: 2,
      remaining: [],
      message: "restarted 2 of 2 instances of web",
    });
  });
  it("a failed step ends the job; the rest is not touched", () => {
    const f = settleStep(
      job(),
      "web-0",
      { ok: false, error: "new instance never became healthy: HTTP 503" },
      5,
    );
    expect(f).toMatchObject({ state: "failed", done: 0, remaining: [] });
    expect(f.message).toBe(
      "web-0 could not be restarted: new instance never became healthy: HTTP 503 (0 of 2 restarted; the others were not touched)",
    );
  });
  it("ignores a step of a job that is no longer running (dropped meanwhile)", () => {
    const d = job({ state: "dropped", remaining: [] });
    expect(settleStep(d, "web-0", { ok: true }, 9)).toBe(d);
  });
});

describe("dropForDocument and expire", () => {
  it("drops a running job whose app the new document changed, keeps others", () => {
    const changed = desiredDoc(
      "n",
      [workload({ app: "web", replica: 0, hostPort: 20000, env: { V: "2" } }), w1, api],
      [],
      "b".repeat(40),
    );
    const apiJob = {
      ...job(),
      id: "restart-api1",
      app: "api",
      workloads: [{ id: api.id, specHash: api.specHash }],
      remaining: ["api-0"],
      total: 1,
    };
    const r = dropForDocument([job(), apiJob], changed, 7);
    expect(r.dropped.map((j) => j.id)).toEqual(["restart-0001"]);
    expect(r.dropped[0]?.message).toBe(
      "dropped: a new document (bbbbbbb) changed web before the restart finished (0 of 2 restarted); the deploy takes over",
    );
    expect(r.jobs.find((j) => j.id === "restart-api1")?.state).toBe("running");
  });
  it("forgets a finished job's outcome once its app changed", () => {
    const changed = desiredDoc("n", [w0, api]);
    expect(dropForDocument([job({ state: "succeeded", remaining: [] })], changed, 0)).toEqual({
      jobs: [],
      dropped: [],
    });
  });
  it("fails a job past its deadline", () => {
    const r = expire([job()], 61_000);
    expect(r.expired).toHaveLength(1);
    expect(r.expired[0]?.message).toMatch(
      /^not finished in time: 0 of 2 restarted; web-0 never became ready to restart/,
    );
    expect(expire([job()], 60_999).expired).toEqual([]);
  });
});

describe("restartStates", () => {
  it("shows the newest job per app, newest first", () => {
    const older = job({ id: "restart-old1", state: "failed", at: 1 });
    const newer = job({ id: "restart-new1", at: 5 });
    const other = { ...job({ id: "restart-api1", at: 3 }), app: "api" };
    expect(restartStates([older, newer, other]).map((s) => [s.id, s.state, s.at])).toEqual([
      ["restart-new1", "running", new Date(5).toISOString()],
      ["restart-api1", "running", new Date(3).toISOString()],
    ]);
  });
});

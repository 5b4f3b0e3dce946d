// Table tests of the restart lane's pure choice (agent/core/restart-lane.ts): from a fresh plan and
// the actions under way, which restarts of exited instances may start beside them, and when the
// next one falls due. Only restarts of exited instances, never on a workload or a port in use.
import { describe, expect, it } from "vitest";
import type { Action, ObservedInstance } from "../../agent/core/actions.js";
import type { CrashBook, CrashRecord } from "../../agent/core/crash-loop.js";
import { type Health, planActions } from "../../agent/core/planner.js";
import { acceptRestart, nextRestart } from "../../agent/core/restart.js";
import { clashes, pickRestarts, portsOf, type UnderWay } from "../../agent/core/restart-lane.js";
import { buildStatus } from "../../agent/core/status.js";
import type { Workload } from "../../schema/index.js";
import { desiredDoc, instance, workload } from "./helpers/docs.js";

const NOW = 1_000_000;
const proc = (app: string, hostPort: number, extra: Partial<Workload> = {}) =>
  workload({ app, runtime: "process", command: ["./run"], port: 8080, hostPort, ...extra });
const web = proc("web", 20000);
const api = proc("api", 20010);
const api2 = proc("api", 20010, { env: { V: "2" } });
const jobs = proc("jobs", 20020);
const exited = (w: Workload, slot: "a" | "b" = "a", extra: Partial<ObservedInstance> = {}) =>
  instance(w, slot, {
    state: "exited",
    lastError: "killed by SIGKILL",
    exit: { code: null, signal: "SIGKILL", at: NOW - 2_000 },
    ...extra,
  });
const crash = (w: Workload, nextRestartAt: number): [string, CrashRecord] => {
  const key = `${w.id}@${w.specHash}`;
  return [
    key,
    {
      key,
      workloadId: w.id,
      restarts: 1,
      streak: 1,
      lastExit: { code: null, signal: "SIGKILL", at: NOW - 2_000, output: [] },
      lastExitRef: "pid:1",
      lastStartAt: NOW - 60_000,
      nextRestartAt,
    },
  ];
};

function planOf(want: Workload[], have: ObservedInstance[], crashes: CrashBook = new Map()) {
  return planActions({
    desired: desiredDoc("n", want),
    instances: have,
    health: new Map<string, Health>(have.map((i) => [i.ref, i.state === "exited" ? "unknown" : "healthy"])),
    knownSpecs: new Map(),
    backoff: new Map(),
    crashes,
    retiring: new Map(),
    now: NOW,
    ingress: null,
  });
}

const none: UnderWay = { workloads: new Set(), ports: new Set() };
const underWayOf = (...as: Action[]): UnderWay => ({
  workloads: new Set(as.map((a) => a.workloadId)),
  ports: new Set(as.flatMap(portsOf)),
});
/** The replace of api (start-first into slot b) that a pass waits on. */
const replaceApi = () => {
  const p = planOf([api2], [instance(api, "a")]);
  return p.actions[0] as Action;
};

describe("restart lane: which restarts may run beside the actions under way", () => {
  it("an exited instance of another workload, due: restarted in its own slot", () => {
    const under = underWayOf(replaceApi());
    const p = planOf([web, api2], [exited(web), instance(api, "a")]);
    const pick = pickRestarts(p, under, [exited(web), instance(api, "a")]);
    expect(pick.launch.map((a) => a.reason)).toEqual(["restart web-0: process exited (killed by SIGKILL)"]);
    expect(pick.launch[0]?.instance.slot).toBe("a");
    expect(pick.nextDueAt).toBeUndefined();
  });

  it("not while its crash-loop delay runs: says when it falls due", () => {
    const have = [exited(web), instance(api, "a")];
    const p = planOf([web, api2], have, new Map([crash(web, NOW + 4_000)]));
    const pick = pickRestarts(p, underWayOf(replaceApi()), have);
    expect(pick.launch).toEqual([]);
    expect(pick.nextDueAt).toBe(NOW + 4_000);
  });

  it("never on a workload an action is under way on", () => {
    const have = [exited(api, "a")];
    const p = planOf([api], have);
    expect(p.actions.map((a) => a.kind)).toEqual(["start"]);
    const under = { workloads: new Set(["api-0"]), ports: new Set<number>() };
    expect(pickRestarts(p, under, have).launch).toEqual([]);
    expect(clashes(p.actions[0] as Action, under, have)).toBe("an action on api-0 is under way");
  });

  it("never into a port an action under way binds or frees", () => {
    const have = [exited(web)];
    const p = planOf([web], have);
    const under = { workloads: new Set(["other-0"]), ports: new Set([20000]) };
    expect(pickRestarts(p, under, have).launch).toEqual([]);
    expect(clashes(p.actions[0] as Action, under, have)).toBe("an action under way uses port 20000");
  });

  it("never into a port a live instance of another workload holds", () => {
    const squatter = instance(proc("old", 20000), "a", { name: "berth-old-0-a" });
    const have = [exited(web), squatter];
    const p = planOf([web], have);
    const start = p.actions.find((a) => a.kind === "start") as Action;
    expect(pickRestarts(p, none, have).launch).toEqual([]);
    expect(clashes(start, none, have)).toBe("port 20000 is held by berth-old-0-a");
  });

  it("two restarts chosen together never share a port", () => {
    const twin = proc("twin", 20000);
    const have = [exited(web), exited(twin), exited(jobs)];
    const p = planOf([web, twin, jobs], have);
    expect(pickRestarts(p, none, have).launch.map((a) => a.workloadId)).toEqual(["web-0", "jobs-0"]);
  });

  it("only restarts of exited instances: not a retry of a running one, not create, replace or remove", () => {
    const running = instance(web, "a");
    const p = planActions({
      desired: desiredDoc("n", [web, api2, jobs]),
      instances: [running, instance(api, "a"), instance(proc("ghost", 20030), "a")],
      health: new Map<string, Health>([[running.ref, "unhealthy"]]),
      knownSpecs: new Map(),
      backoff: new Map([
        [
          `web-0@${web.specHash}`,
          {
            key: `web-0@${web.specHash}`,
            kind: "create",
            step: "create web-0",
            workloadId: "web-0",
            attempt: 1,
            lastError: "never became healthy",
            cause: { where: "workload", message: "never became healthy" },
            nextAttemptAt: NOW - 1,
          },
        ],
      ]),
      retiring: new Map(),
      now: NOW,
      ingress: null,
    });
    expect(p.actions.map((a) => a.kind).sort()).toEqual(["create", "remove", "replace", "start"]);
    expect(pickRestarts(p, none, []).launch).toEqual([]);
  });

  it("the ports of each kind of action", () => {
    const r = replaceApi();
    expect(portsOf(r)).toEqual([20011, 20010]);
    const p = planOf([web], [exited(web, "b")]);
    expect(portsOf(p.actions[0] as Action)).toEqual([20001, 20001]);
  });
});

describe("restart lane beside a step of `berth restart`", () => {
  /** The step of `berth restart web` a pass runs: web-0 start-first from slot a into slot b. */
  const restartStep = (): Action => {
    const doc = desiredDoc("n", [web, jobs]);
    const r = acceptRestart(
      {
        kind: "restart",
        id: "restart-0001",
        app: "web",
        generation: 1,
        workloads: [{ id: web.id, specHash: web.specHash }],
        timeoutSeconds: 60,
      },
      doc,
      [],
      NOW,
    );
    if (!r.ok) throw new Error(r.message);
    const live = instance(web, "a");
    const step = nextRestart({
      jobs: [r.job],
      desired: doc,
      instances: [live],
      health: new Map<string, Health>([[live.ref, "healthy"]]),
      planned: [],
    });
    if (!step) throw new Error("no restart step planned");
    return step;
  };

  it("binds the other slot's port and frees the old instance's", () => {
    const step = restartStep();
    expect(step.kind).toBe("restart");
    expect(portsOf(step)).toEqual([20001, 20000]);
  });

  it("while it runs, the lane restarts nothing of its workload nor into its ports; other workloads still", () => {
    const under = underWayOf(restartStep());
    // web-0's old instance dies during the step; another workload wants the step's new port.
    const squat = proc("squat", 20001);
    const have = [exited(web), exited(squat), exited(jobs)];
    const p = planOf([web, squat, jobs], have);
    expect(p.actions.map((a) => a.workloadId).sort()).toEqual(["jobs-0", "squat-0", "web-0"]);
    expect(pickRestarts(p, under, have).launch.map((a) => a.workloadId)).toEqual(["jobs-0"]);
    const byId = (id: string) => p.actions.find((a) => a.workloadId === id) as Action;
    expect(clashes(byId("web-0"), under, have)).toBe("an action on web-0 is under way");
    expect(clashes(byId("squat-0"), under, have)).toBe("an action under way uses port 20001");
  });

  it("a step planned before the lane restarted its workload waits for the next pass", () => {
    const laneStart = planOf([web], [exited(web, "a")]).actions[0] as Action;
    expect(laneStart.kind).toBe("start");
    expect(clashes(restartStep(), underWayOf(laneStart), [])).toBe("an action on web-0 is under way");
  });

  it("the lane never runs a restart step itself", () => {
    const p = planOf([web, jobs], [instance(web, "a"), instance(jobs, "a")]);
    p.actions.push(restartStep());
    expect(pickRestarts(p, none, [instance(web, "a"), instance(jobs, "a")]).launch).toEqual([]);
  });
});

describe("status of a restart under way in the lane", () => {
  it("the restarted workload shows its running operation beside the pass's", () => {
    const doc = desiredDoc("n", [web, api2]);
    const s = buildStatus({
      node: "n",
      agentVersion: "t",
      desiredHash: doc.hash,
      applied: null,
      doc,
      instances: [exited(web), instance(api, "a"), instance(api2, "b")],
      health: new Map(),
      backoff: new Map(),
      running: { workloadId: "api-0", step: "replace api-0: env changed", attempt: 1 },
      restarting: [{ workloadId: "web-0", step: "restart web-0: process exited", attempt: 2 }],
      pending: true,
      ingress: null,
      problems: [],
      now: NOW,
    });
    const of = (id: string) => s.workloads.find((w) => w.id === id);
    expect(of("api-0")?.operation).toMatchObject({ status: "running", step: "replace api-0: env changed" });
    expect(of("web-0")?.operation).toMatchObject({
      status: "running",
      step: "restart web-0: process exited",
      attempt: 2,
    });
    expect(of("web-0")?.state).toBe("starting");
    expect(s.phase).toBe("applying");
  });
});

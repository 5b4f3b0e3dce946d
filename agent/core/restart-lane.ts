// Which planned actions may run beside the actions under way (the restart lane, agent/loop/
// restart-lane.ts). A pass runs its actions one at a time, and a create or replace waits for the
// new instance's health for up to its start period and more; a crashed instance of another
// workload must not stay down for that long. Only one kind of action qualifies: the restart of an
// exited instance of the wanted spec (`start` in its own slot), because it touches nothing but
// that instance — no other workload, no route, no other slot. It still waits for its crash-loop
// delay and backoff (the planner defers it until then, unchanged), and it is only let through when
//   - no action is under way on its workload (never two actions on one workload at once), and
//   - its port is neither bound nor freed by an action under way, nor held by a live instance of
//     another workload (so two actions never race on a port, whatever documents say).
// Pure: plain data in, plain data out.
import { slotPort } from "../runtime/driver.js";
import type { Action, ObservedInstance, StartAction } from "./actions.js";
import type { PlanResult } from "./planner.js";

/** The host ports an action may bind (a start) or free (a stop) while it runs. */
export function portsOf(a: Action): number[] {
  switch (a.kind) {
    case "remove":
      return [a.instance.port];
    case "start":
      return [a.instance.port, slotPort(a.workload, a.instance.slot)];
    case "create":
      return [slotPort(a.workload, a.slot)];
    case "replace":
    case "restart":
      return [slotPort(a.workload, a.slot), a.old.port];
    case "routes":
      return [];
  }
}

/** A restart of an exited instance of the spec the document wants: the only kind the lane runs. */
export const isLaneKind = (a: Action): a is StartAction =>
  a.kind === "start" && a.instance.state === "exited";

export interface UnderWay {
  /** Workloads with an action under way. */
  workloads: ReadonlySet<string>;
  /** Ports those actions may bind or free. */
  ports: ReadonlySet<number>;
}

/** Whether `a` can run now beside the actions `under` way, given what the runtime lists. */
export function clashes(a: Action, under: UnderWay, instances: readonly ObservedInstance[]): string | null {
  if (a.workloadId !== "" && under.workloads.has(a.workloadId))
    return `an action on ${a.workloadId} is under way`;
  for (const port of portsOf(a)) {
    if (under.ports.has(port)) return `an action under way uses port ${port}`;
  }
  if (isLaneKind(a)) {
    const port = slotPort(a.workload, a.instance.slot);
    const holder = instances.find(
      (i) => i.workloadId !== a.workloadId && i.state !== "exited" && i.port === port,
    );
    if (holder) return `port ${port} is held by ${holder.name}`;
  }
  return null;
}

export interface LanePick {
  /** Restarts to start now, each on its own workload and port. */
  launch: StartAction[];
  /** When the next restart the lane could run falls due (ms epoch), if one waits for its delay. */
  nextDueAt?: number;
}

/** The restarts of a fresh plan that may start beside the actions under way, and when to look again. */
export function pickRestarts(
  plan: PlanResult,
  under: UnderWay,
  instances: readonly ObservedInstance[],
): LanePick {
  const workloads = new Set(under.workloads);
  const ports = new Set(under.ports);
  const launch: StartAction[] = [];
  for (const a of plan.actions) {
    if (!isLaneKind(a) || clashes(a, { workloads, ports }, instances) !== null) continue;
    launch.push(a);
    // Two restarts chosen together never share a workload or a port either.
    workloads.add(a.workloadId);
    for (const p of portsOf(a)) ports.add(p);
  }
  let nextDueAt: number | undefined;
  for (const d of plan.deferred) {
    if (!isLaneKind(d.action) || workloads.has(d.action.workloadId)) continue;
    if (nextDueAt === undefined || d.until < nextDueAt) nextDueAt = d.until;
  }
  return { launch, ...(nextDueAt !== undefined ? { nextDueAt } : {}) };
}

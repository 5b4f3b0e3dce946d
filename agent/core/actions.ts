// The typed actions the agent core plans and the loop executes, each with a reason a person can
// read. Types and tiny helpers only: no planning logic and no I/O here.
import type { Workload } from "../../schema/index.js";
import type { Instance, Slot } from "../runtime/driver.js";

/** An instance as observed, tagged with the runtime that reported it (so the right driver stops it). */
export interface ObservedInstance extends Instance {
  runtime: "process" | "podman" | "docker";
}

export type ActionKind = "remove" | "start" | "create" | "replace" | "routes" | "restart";

interface Base {
  kind: ActionKind;
  /** Workload the action is about; "" for routes. */
  workloadId: string;
  /** App the action is about; "" for routes. */
  app: string;
  /** One line: `<verb> <subject>: <why>`, e.g. `replace web-0: image a:1 → a:2`. */
  reason: string;
  /** Backoff key: the same key failing again backs off. */
  key: string;
  /** 1 for a first try; n for the n-th try of the same key. */
  attempt: number;
}

/** Stop and remove an instance that is not wanted (orphan or duplicate). */
export interface RemoveAction extends Base {
  kind: "remove";
  instance: ObservedInstance;
}

/** (Re)start a workload in the slot of an existing instance: it exited, or never became healthy. */
export interface StartAction extends Base {
  kind: "start";
  workload: Workload;
  instance: ObservedInstance;
}

/** Start a workload that has no instance. */
export interface CreateAction extends Base {
  kind: "create";
  workload: Workload;
  slot: Slot;
}

/** Replace an instance whose spec differs from the workload's. */
export interface ReplaceAction extends Base {
  kind: "replace";
  workload: Workload;
  old: ObservedInstance;
  /** stop-first when asked, or when the old instance is not running anyway. */
  strategy: "start-first" | "stop-first";
  /** Slot the new instance starts in. */
  slot: Slot;
}

/** Load the whole Caddy config because the running one differs. */
export interface RoutesAction extends Base {
  kind: "routes";
  config: object;
  hash: string;
  routeCount: number;
}

/**
 * Restart an instance that runs the right spec, asked for with `berth restart`: done like a replace
 * (start-first: the new instance in the other slot, healthy before the old one stops). Planned by
 * core/restart.ts, one at a time, after everything else; a failure is not retried.
 */
export interface RestartAction extends Base {
  kind: "restart";
  workload: Workload;
  old: ObservedInstance;
  strategy: "start-first" | "stop-first";
  slot: Slot;
  /** The restart request this step belongs to. */
  requestId: string;
}

export type Action = RemoveAction | StartAction | CreateAction | ReplaceAction | RoutesAction | RestartAction;

/**
 * Order of SPEC §6: remove orphans → start stopped → create missing → replace changed → routes;
 * restarts asked for by a person come last, once everything the document wants is done.
 */
export const actionOrder: readonly ActionKind[] = [
  "remove",
  "start",
  "create",
  "replace",
  "routes",
  "restart",
];

export const otherSlot = (slot: Slot): Slot => (slot === "a" ? "b" : "a");

/** Backoff key of work on a workload: a new specHash starts afresh. */
export const workloadKey = (workloadId: string, specHash: string): string => `${workloadId}@${specHash}`;
export const removeKey = (instance: Pick<Instance, "name">): string => `remove:${instance.name}`;
export const routesKey = (hash: string): string => `routes@${hash}`;

/** An action before its attempt number is known (Omit that keeps the union apart). */
export type ActionDraft = Action extends infer A ? (A extends Action ? Omit<A, "attempt"> : never) : never;

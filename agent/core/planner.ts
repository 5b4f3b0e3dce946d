// The agent's planner: from one snapshot of what runs (instances, their health, the running Caddy
// config hash) and the desired document, the ordered list of actions that makes the node match,
// each with a reason. Actions whose key is backing off after failures are returned as deferred
// instead. Pure: no I/O, no clock (time comes in).
import type { DesiredState, Workload } from "../../schema/index.js";
import {
  type Action,
  type ActionDraft,
  actionOrder,
  type ObservedInstance,
  otherSlot,
  removeKey,
  routesKey,
  workloadKey,
} from "./actions.js";
import type { BackoffBook, BackoffEntry } from "./backoff.js";
import type { CrashBook } from "./crash-loop.js";
import { describeSpecChange } from "./spec-change.js";

export type Health = "healthy" | "unhealthy" | "unknown";

export interface IngressSnapshot {
  /** The Caddy config built from the desired routes, and its hash. */
  config: object;
  hash: string;
  routeCount: number;
  /** Hash of the config Caddy runs now; null when it has none or cannot be read. */
  runningHash: string | null;
}

export interface PlanInput {
  desired: DesiredState;
  instances: readonly ObservedInstance[];
  /** Health of instances by ref, as the monitor or the last action saw it (missing = unknown). */
  health: ReadonlyMap<string, Health>;
  /** Workload specs seen in earlier documents, by specHash, to say what changed. */
  knownSpecs: ReadonlyMap<string, Workload>;
  backoff: BackoffBook;
  /** Exits per spec: a start of a spec whose instances keep exiting waits for its restart delay. */
  crashes?: CrashBook;
  /**
   * Instances replaced by a start-first deploy that keep running until a time (ms epoch), so
   * proxies move requests to the new slot before the old one goes away. By instance name.
   */
  retiring: ReadonlyMap<string, number>;
  now: number;
  /** Present on nodes whose agent manages Caddy. */
  ingress: IngressSnapshot | null;
}

export interface Deferred {
  action: Action;
  /** When it may run (ms epoch). */
  until: number;
  /** The failure it backs off from, when an action failed (an exit alone has none). */
  entry?: BackoffEntry;
}

export interface PlanResult {
  actions: Action[];
  deferred: Deferred[];
  /** Replaced instances still draining, and until when. */
  draining: { name: string; until: number }[];
}

const alive = (i: ObservedInstance): boolean => i.state !== "exited";

export const label = (i: Pick<ObservedInstance, "workloadId" | "slot">): string =>
  `${i.workloadId} (slot ${i.slot})`;

/**
 * Picks the instance to keep among several of one workload: alive, then not retiring (a replaced
 * one draining), then healthy, then running the desired spec, then slot a.
 */
function pickKeeper(
  list: readonly ObservedInstance[],
  w: Workload,
  health: ReadonlyMap<string, Health>,
  retiring: ReadonlyMap<string, number>,
): ObservedInstance {
  const score = (i: ObservedInstance) =>
    (alive(i) ? 16 : 0) +
    (retiring.has(i.name) ? 0 : 8) +
    (health.get(i.ref) === "healthy" ? 4 : 0) +
    (i.specHash === w.specHash ? 2 : 0) +
    (i.slot === "a" ? 1 : 0);
  return [...list].sort((x, y) => score(y) - score(x))[0] as ObservedInstance;
}

function exitedWhy(i: ObservedInstance): string {
  const what = i.runtime === "process" ? "process" : "container";
  return `${what} exited${i.lastError ? ` (${i.lastError})` : ""}`;
}

export function planActions(input: PlanInput): PlanResult {
  const { desired, health, backoff, now } = input;
  const candidates: ActionDraft[] = [];
  const byWorkload = new Map<string, ObservedInstance[]>();
  const sorted = [...input.instances].sort(
    (x, y) => x.workloadId.localeCompare(y.workloadId) || x.slot.localeCompare(y.slot),
  );
  for (const i of sorted) {
    const list = byWorkload.get(i.workloadId) ?? [];
    list.push(i);
    byWorkload.set(i.workloadId, list);
  }
  const wanted = new Map(desired.workloads.map((w) => [w.id, w]));

  for (const [id, list] of byWorkload) {
    if (wanted.has(id)) continue;
    for (const i of list) {
      candidates.push({
        kind: "remove",
        workloadId: id,
        app: i.app,
        reason: `remove ${label(i)}: not in the desired document`,
        key: removeKey(i),
        instance: i,
      });
    }
  }

  const keepers = new Map<string, ObservedInstance>();
  const draining: PlanResult["draining"] = [];
  for (const w of desired.workloads) {
    const list = byWorkload.get(w.id) ?? [];
    if (list.length === 0) continue;
    const keeper = pickKeeper(list, w, health, input.retiring);
    keepers.set(w.id, keeper);
    // A start-first replace of the keeper needs its other slot, even if a replaced one drains there.
    const slotNeeded =
      keeper.specHash !== w.specHash && alive(keeper) && w.strategy === "start-first"
        ? otherSlot(keeper.slot)
        : null;
    for (const i of list) {
      if (i === keeper) continue;
      const until = input.retiring.get(i.name);
      if (until !== undefined && i.state !== "exited" && input.now < until && i.slot !== slotNeeded) {
        draining.push({ name: i.name, until });
        continue;
      }
      candidates.push({
        kind: "remove",
        workloadId: w.id,
        app: w.app,
        reason:
          until === undefined
            ? `remove ${label(i)}: duplicate of slot ${keeper.slot}`
            : input.now < until
              ? `remove ${label(i)}: replaced by slot ${keeper.slot}; its slot is needed for the next replace`
              : `remove ${label(i)}: replaced by slot ${keeper.slot}, drained`,
        key: removeKey(i),
        instance: i,
      });
    }
  }

  for (const w of desired.workloads) {
    const k = keepers.get(w.id);
    const key = workloadKey(w.id, w.specHash);
    if (!k) {
      candidates.push({
        kind: "create",
        workloadId: w.id,
        app: w.app,
        reason: `create ${w.id}: no instance running (slot a, port ${w.hostPort})`,
        key,
        workload: w,
        slot: "a",
      });
    } else if (k.specHash !== w.specHash) {
      const change = describeSpecChange(input.knownSpecs.get(k.specHash), k.specHash, w);
      const running = alive(k);
      const strategy = running ? w.strategy : "stop-first";
      candidates.push({
        kind: "replace",
        workloadId: w.id,
        app: w.app,
        reason: `replace ${w.id}: ${change}${running ? "" : `; old ${exitedWhy(k)}`}`,
        key,
        workload: w,
        old: k,
        strategy,
        slot: strategy === "start-first" ? otherSlot(k.slot) : k.slot,
      });
    } else if (!alive(k)) {
      candidates.push({
        kind: "start",
        workloadId: w.id,
        app: w.app,
        reason: `restart ${w.id}: ${exitedWhy(k)}`,
        key,
        workload: w,
        instance: k,
      });
    } else if (backoff.has(key) && health.get(k.ref) !== "healthy") {
      // It runs the right spec but a start of it failed (never became healthy): retry after backoff.
      const entry = backoff.get(key) as BackoffEntry;
      candidates.push({
        kind: "start",
        workloadId: w.id,
        app: w.app,
        reason: `restart ${w.id}: never became healthy (${entry.lastError})`,
        key,
        workload: w,
        instance: k,
      });
    }
  }

  const ing = input.ingress;
  if (ing && ing.hash !== ing.runningHash) {
    const why = ing.runningHash === null ? "Caddy runs no config" : "running config differs";
    candidates.push({
      kind: "routes",
      workloadId: "",
      app: "",
      reason: `routes: load Caddy config with ${ing.routeCount} route${ing.routeCount === 1 ? "" : "s"} (${why})`,
      key: routesKey(ing.hash),
      config: ing.config,
      hash: ing.hash,
      routeCount: ing.routeCount,
    });
  }

  const rank = (a: ActionDraft) => actionOrder.indexOf(a.kind);
  // Stable: within a kind, orphans by id and the rest in the document's order.
  candidates.sort((x, y) => rank(x) - rank(y));

  const result: PlanResult = { actions: [], deferred: [], draining };
  for (const c of candidates) {
    const entry = backoff.get(c.key);
    // Starting a spec again waits out both the failed action's backoff and its crash-loop delay.
    const crash = c.kind === "remove" || c.kind === "routes" ? undefined : input.crashes?.get(c.key);
    const until = Math.max(entry?.nextAttemptAt ?? 0, crash?.nextRestartAt ?? 0);
    const action = { ...c, attempt: Math.max(entry?.attempt ?? 0, crash?.streak ?? 0) + 1 } as Action;
    if (until > now) result.deferred.push({ action, until, ...(entry ? { entry } : {}) });
    else result.actions.push(action);
  }
  return result;
}

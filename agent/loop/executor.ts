// Executes one planned action against the runtime drivers and Caddy, each step under a deadline
// derived from the workload's health timings. A start-first replace starts the new instance in the
// free slot, waits until it is healthy and only then retires the old one (left to drain for a
// moment, then removed by a later pass); when the new one never becomes healthy it is stopped and
// the old one keeps serving. It decides nothing: failures are
// returned as outcomes for the loop's backoff bookkeeping.
import type { Workload } from "../../schema/index.js";
import type { Action, ObservedInstance } from "../core/actions.js";
import type { HealthPlace } from "../core/address.js";
import { type DeadlineSettings, healthDeadlineMs, stopDeadlineMs } from "../core/deadlines.js";
import { waitHealthy } from "../health/check.js";
import type { Instance, Slot } from "../runtime/driver.js";
import type { DriverSet } from "./drivers.js";
import { checkable } from "./health-monitor.js";
import type { Ingress } from "./ingress.js";

export interface ExecutorDeps {
  drivers: DriverSet;
  ingress: Ingress | null;
  deadlines: DeadlineSettings;
  /** Where instances of this runtime are health-checked (the node's address), or why not. */
  healthPlace: (runtime: Workload["runtime"]) => HealthPlace;
  /** Aborted when the agent stops. */
  signal: AbortSignal;
  /** After a start-first replace, how long the old instance keeps running (0: stopped at once). */
  drainMs: number;
  now: () => number;
}

export type Outcome =
  | {
      ok: true;
      detail: string;
      healthy: { ref: string; detail: string }[];
      /** An old instance left running to drain until `until` (ms epoch); the planner removes it then. */
      retire?: { name: string; until: number };
    }
  | {
      ok: false;
      error: string;
      /** A new instance left running although its health check failed. */
      unhealthy?: { ref: string; detail: string };
    };

class DeadlineError extends Error {}

/** Runs `fn` with a signal that aborts after `ms` (or when the agent stops), and stops waiting then. */
async function withDeadline<T>(
  what: string,
  ms: number,
  parent: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const signal = AbortSignal.any([parent, AbortSignal.timeout(ms)]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(
        new DeadlineError(parent.aborted ? `${what}: agent stopping` : `${what}: no result within ${ms} ms`),
      );
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(signal), aborted]);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function createExecutor(deps: ExecutorDeps): (action: Action) => Promise<Outcome> {
  const stop = (i: ObservedInstance | (Instance & { runtime: Workload["runtime"] })) =>
    withDeadline(`stopping ${i.name}`, stopDeadlineMs(deps.deadlines), deps.signal, () =>
      deps.drivers.forRuntime(i.runtime).stop(i, deps.deadlines.stopGraceMs),
    );

  /** Starts `w` in `slot` and waits for its health check; never throws for an unhealthy app. */
  async function startAndWait(
    w: Workload,
    slot: Slot,
  ): Promise<{ instance: Instance; ok: boolean; detail: string }> {
    const driver = deps.drivers.forRuntime(w.runtime);
    const place = deps.healthPlace(w.runtime);
    // A container publishes its port on the node's address: on another host's address it cannot.
    if ("error" in place && w.runtime !== "process")
      throw new Error(`cannot publish ${w.id}: ${place.error}`);
    const instance = await withDeadline(
      `starting ${w.id} in slot ${slot}`,
      deps.deadlines.startMs,
      deps.signal,
      (s) => driver.start(w, slot, s),
    );
    if (!checkable(w)) {
      return { instance, ok: true, detail: "started (no port: not health-checked)" };
    }
    const ms = healthDeadlineMs(w.health, deps.deadlines);
    const signal = AbortSignal.any([deps.signal, AbortSignal.timeout(ms)]);
    if ("error" in place) return { instance, ok: false, detail: place.error };
    const r = await waitHealthy(
      { host: place.host, port: instance.port, loopbackHint: place.loopbackHint },
      w.health,
      signal,
    );
    return { instance, ok: r.ok, detail: r.detail };
  }

  const unhealthy = (r: { instance: Instance; detail: string }): Outcome => ({
    ok: false,
    error: `never became healthy: ${r.detail}`,
    unhealthy: { ref: r.instance.ref, detail: r.detail },
  });

  const tagged = (i: Instance, w: Workload) => ({ ...i, runtime: deps.drivers.forRuntime(w.runtime).kind });

  async function run(action: Action): Promise<Outcome> {
    switch (action.kind) {
      case "remove":
        await stop(action.instance);
        return { ok: true, detail: `stopped ${action.instance.name}`, healthy: [] };
      case "routes":
        if (!deps.ingress)
          return { ok: false, error: "ingress is not managed on this node (no --caddy-admin)" };
        await withDeadline("loading the Caddy config", deps.deadlines.routesMs, deps.signal, () =>
          (deps.ingress as Ingress).load(action.config, action.hash),
        );
        return { ok: true, detail: `Caddy runs config ${action.hash}`, healthy: [] };
      case "create":
      case "start": {
        if (action.kind === "start") await stop(action.instance);
        const slot = action.kind === "start" ? action.instance.slot : action.slot;
        const r = await startAndWait(action.workload, slot);
        // Nothing else serves this workload, so an unhealthy new instance is left running (it may
        // still come up, and its logs stay); the planner restarts it after backoff.
        if (!r.ok) return unhealthy(r);
        return { ok: true, detail: r.detail, healthy: [{ ref: r.instance.ref, detail: r.detail }] };
      }
      case "restart":
      case "replace": {
        const { workload: w, old } = action;
        if (action.strategy === "stop-first") {
          await stop(old);
          const r = await startAndWait(w, action.slot);
          if (!r.ok) return unhealthy(r);
          return { ok: true, detail: r.detail, healthy: [{ ref: r.instance.ref, detail: r.detail }] };
        }
        const r = await startAndWait(w, action.slot);
        if (!r.ok) {
          await stop(tagged(r.instance, w));
          return {
            ok: false,
            error: `new instance never became healthy: ${r.detail}; stopped it, the old one keeps serving`,
          };
        }
        const healthy = [{ ref: r.instance.ref, detail: r.detail }];
        // Proxies may still count the new slot as failed from when it was idle: keep the old one a
        // moment so no request waits in a proxy's retry loop (see slotSwitchDrainMs).
        if (deps.drainMs > 0 && old.state !== "exited") {
          return {
            ok: true,
            detail: r.detail,
            healthy,
            retire: { name: old.name, until: deps.now() + deps.drainMs },
          };
        }
        await stop(old);
        return { ok: true, detail: r.detail, healthy };
      }
    }
  }

  return async (action) => {
    try {
      return await run(action);
    } catch (e) {
      return { ok: false, error: message(e) };
    }
  };
}

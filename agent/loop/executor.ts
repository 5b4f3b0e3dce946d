// Executes one planned action against the runtime drivers and Caddy, each step under a deadline
// derived from the workload's health timings. A new instance is waited on until it is healthy,
// while the runtime is watched for its exit: an instance that exits before it is healthy fails the
// attempt at once, with its exit code or signal and its last output lines. A start-first replace
// starts the new instance in the free slot and only then retires the old one (left to drain for a
// moment, then removed by a later pass); when the new one fails it is stopped and the old one keeps
// serving. The wait is abandoned when the action's own signal aborts (a newer document no longer
// wants its target). It decides nothing: what happened is returned as facts for the loop.

import { IdentityError } from "../../core/secrets/identity.js";
import type { Workload } from "../../schema/index.js";
import type { Action, ObservedInstance } from "../core/actions.js";
import type { HealthPlace } from "../core/address.js";
import type { FailureFact } from "../core/cause.js";
import { type DeadlineSettings, healthDeadlineMs, stopDeadlineMs } from "../core/deadlines.js";
import { type WaitResult, waitHealthy } from "../health/check.js";
import { type Instance, type InstanceExit, type Slot, StartError } from "../runtime/driver.js";
import { SecretError } from "../secrets/resolver.js";
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
  drainMs: (w: Workload) => number;
  /** The last output lines of an instance, sanitised and redacted for its workload. */
  excerpt: (i: Instance & { runtime: Workload["runtime"] }, w: Workload) => Promise<string[]>;
  now: () => number;
  /** Decrypts a workload's secrets; a stop-first replace tries it before stopping the old instance. */
  resolveSecrets?: (
    app: string,
    secrets: NonNullable<Workload["secrets"]>,
  ) => Promise<Record<string, string>>;
}

/** A new instance the action started (for the loop's per-spec crash bookkeeping). */
export interface Started {
  ref: string;
  at: number;
}

export type Outcome =
  | {
      ok: true;
      detail: string;
      healthy: { ref: string; detail: string }[];
      /** An old instance left running to drain until `until` (ms epoch); the planner removes it then. */
      retire?: { name: string; until: number };
      started?: Started;
    }
  | {
      ok: false;
      superseded?: false;
      /** One line for the log and `lastError`. */
      error: string;
      /** What happened, for the cause. */
      fact: FailureFact;
      /** A new instance left running although its health check failed. */
      unhealthy?: { ref: string; detail: string };
      started?: Started;
      /** The new instance exited: how, and its last lines. */
      exit?: { ref: string; exit: InstanceExit; output: string[] };
      /**
       * Work left once the failure is recorded and reported (stopping a failed new instance takes
       * several engine calls: the failure is news before that).
       */
      cleanup?: () => Promise<void>;
    }
  | {
      /** A newer document no longer wants what this action worked towards: abandoned, not failed. */
      ok: false;
      superseded: true;
      detail: string;
      started?: Started;
    };

class DeadlineError extends Error {
  constructor(
    message: string,
    readonly step: string,
    readonly ms: number,
  ) {
    super(message);
  }
}

class Superseded extends Error {}

/** Runs `fn` with a signal that aborts after `ms` (or when `parent` aborts), and stops waiting then. */
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
        parent.aborted
          ? new Superseded(what)
          : new DeadlineError(`${what}: no result within ${ms} ms`, what, ms),
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

type Waited =
  | { ok: true; instance: Instance; detail: string }
  | {
      ok: false;
      instance: Instance;
      fact: FailureFact;
      detail: string;
      exit?: InstanceExit;
      output?: string[];
    };

export function createExecutor(
  deps: ExecutorDeps,
): (action: Action, signal?: AbortSignal) => Promise<Outcome> {
  async function run(action: Action, signal: AbortSignal, started: { value?: Started }): Promise<Outcome> {
    // Aborted by the agent stopping or by a newer document (the loop tells them apart).
    const stopping = AbortSignal.any([deps.signal, signal]);
    const stop = (i: ObservedInstance | (Instance & { runtime: Workload["runtime"] })) =>
      withDeadline(`stopping ${i.name}`, stopDeadlineMs(deps.deadlines), deps.signal, () =>
        deps.drivers.forRuntime(i.runtime).stop(i, deps.deadlines.stopGraceMs),
      );
    const tagged = (i: Instance, w: Workload) => ({ ...i, runtime: deps.drivers.forRuntime(w.runtime).kind });

    /** Starts `w` in `slot` and waits until it is healthy, it exits, or the wait is over. */
    async function startAndWait(w: Workload, slot: Slot): Promise<Waited> {
      const driver = deps.drivers.forRuntime(w.runtime);
      const place = deps.healthPlace(w.runtime);
      // A container publishes its port on the node's address: on another host's address it cannot.
      if ("error" in place && w.runtime !== "process")
        throw new Error(`cannot publish ${w.id}: ${place.error}`);
      const t0 = deps.now();
      const instance = await withDeadline(
        `starting ${w.id} in slot ${slot}`,
        deps.deadlines.startMs,
        stopping,
        (s) => driver.start(w, slot, s),
      );
      started.value = { ref: instance.ref, at: t0 };
      if (!checkable(w)) return { ok: true, instance, detail: "started (no port: not health-checked)" };
      if ("error" in place) {
        return { ok: false, instance, detail: place.error, fact: { kind: "runtime", detail: place.error } };
      }
      const ms = healthDeadlineMs(w.health, deps.deadlines);
      const done = new AbortController();
      const waitSignal = AbortSignal.any([stopping, AbortSignal.timeout(ms), done.signal]);
      const exitSignal = AbortSignal.any([stopping, done.signal]);
      let exited: InstanceExit | null = null;
      const exitWatch = driver.waitExit(instance, exitSignal).then((e) => {
        exited = e;
        // An exit ends the health wait at once.
        if (e) done.abort();
        return e;
      });
      let health: WaitResult;
      try {
        health = await waitHealthy(
          { host: place.host, port: instance.port, loopbackHint: place.loopbackHint },
          w.health,
          waitSignal,
        );
      } finally {
        done.abort();
      }
      await exitWatch;
      if (signal.aborted && !exited) throw new Superseded(`waiting for ${w.id} to become healthy`);
      const exit = exited as InstanceExit | null;
      if (exit && !health.ok) {
        const output = await deps.excerpt(tagged(instance, w), w).catch(() => []);
        return {
          ok: false,
          instance,
          exit,
          output,
          detail: "exited",
          fact: {
            kind: "exited",
            code: exit.code,
            signal: exit.signal,
            ranMs: Math.max(0, exit.at - t0),
            duringStart: true,
            output,
          },
        };
      }
      if (health.ok) return { ok: true, instance, detail: health.detail };
      const output = await deps.excerpt(tagged(instance, w), w).catch(() => []);
      const fact: FailureFact = {
        kind: "never-healthy",
        last: {
          detail: health.last.detail,
          ...(health.last.status !== undefined ? { status: health.last.status } : {}),
          ...(health.last.error !== undefined ? { error: health.last.error } : {}),
          path: w.health.path ?? null,
          port: instance.port,
          timeoutMs: w.health.timeoutSeconds * 1000,
        },
        checks: health.attempts,
        runtime: w.runtime === "process" ? "process" : "container",
        ...(w.runtime !== "process" && w.port !== undefined ? { containerPort: w.port } : {}),
        output,
      };
      return { ok: false, instance, fact, detail: health.detail, output };
    }

    const failed = (
      r: Extract<Waited, { ok: false }>,
      suffix = "",
      keepRunning = true,
    ): Extract<Outcome, { error: string }> => {
      const base = r.exit
        ? `exited before it became healthy (${r.fact.kind === "exited" ? describeShort(r.exit) : "exited"})`
        : `never became healthy: ${r.detail}`;
      return {
        ok: false,
        error: `${base}${suffix}`,
        fact: r.fact,
        ...(r.exit ? { exit: { ref: r.instance.ref, exit: r.exit, output: r.output ?? [] } } : {}),
        ...(!r.exit && keepRunning ? { unhealthy: { ref: r.instance.ref, detail: r.detail } } : {}),
      };
    };

    switch (action.kind) {
      case "remove":
        await stop(action.instance);
        return { ok: true, detail: `stopped ${action.instance.name}`, healthy: [] };
      case "routes": {
        if (!deps.ingress)
          return {
            ok: false,
            error: "ingress is not managed on this node (no --caddy-admin)",
            fact: { kind: "agent", detail: "ingress is not managed on this node (no --caddy-admin)" },
          };
        const how = await withDeadline("loading the Caddy config", deps.deadlines.routesMs, deps.signal, () =>
          (deps.ingress as Ingress).load(action.config, action.hash),
        );
        return { ok: true, detail: `Caddy runs config ${action.hash} (${how})`, healthy: [] };
      }
      case "create":
      case "start": {
        if (action.kind === "start") await stop(action.instance);
        const slot = action.kind === "start" ? action.instance.slot : action.slot;
        const r = await startAndWait(action.workload, slot);
        // Nothing else serves this workload, so an unhealthy new instance is left running (it may
        // still come up, and its logs stay); the planner restarts it after backoff.
        if (!r.ok) return failed(r);
        return { ok: true, detail: r.detail, healthy: [{ ref: r.instance.ref, detail: r.detail }] };
      }
      case "restart":
      case "replace": {
        const { workload: w, old } = action;
        if (action.strategy === "stop-first") {
          // Nothing would serve while a new instance that cannot get its secrets fails to start:
          // find out first (the value is dropped; the driver decrypts again when it starts).
          if (w.secrets && Object.keys(w.secrets).length > 0 && deps.resolveSecrets) {
            try {
              await deps.resolveSecrets(w.app, w.secrets);
            } catch (e) {
              const error = `${message(e)}; the old instance keeps serving`;
              return { ok: false, error, fact: { kind: "agent", detail: error } };
            }
          }
          await stop(old);
          const r = await startAndWait(w, action.slot);
          if (!r.ok) return failed(r);
          return { ok: true, detail: r.detail, healthy: [{ ref: r.instance.ref, detail: r.detail }] };
        }
        let r: Waited;
        try {
          r = await startAndWait(w, action.slot);
        } catch (e) {
          // An unproven new instance never outlives an abandoned start-first attempt.
          if (e instanceof Superseded && started.value) {
            await stop(tagged({ ...newInstanceOf(w, action.slot), ref: started.value.ref }, w)).catch(
              () => {},
            );
          }
          throw e;
        }
        if (!r.ok) {
          const failedNew = tagged(r.instance, w);
          return {
            ...failed(r, "; stopped it, the old one keeps serving", false),
            cleanup: async () => {
              await stop(failedNew);
            },
          };
        }
        const healthy = [{ ref: r.instance.ref, detail: r.detail }];
        // Proxies count the new slot as down until their next check of it: keep the old one until
        // then so no request waits in a proxy's retry loop (see slotSwitchDrainMs).
        const drainMs = deps.drainMs(w);
        if (drainMs > 0 && old.state !== "exited") {
          return {
            ok: true,
            detail: r.detail,
            healthy,
            retire: { name: old.name, until: deps.now() + drainMs },
          };
        }
        await stop(old);
        return { ok: true, detail: r.detail, healthy };
      }
    }
  }

  return async (action, signal = new AbortController().signal) => {
    const started: { value?: Started } = {};
    const withStart = <O extends Outcome>(o: O): O => (started.value ? { ...o, started: started.value } : o);
    try {
      return withStart(await run(action, signal, started));
    } catch (e) {
      if (e instanceof Superseded || (signal.aborted && !deps.signal.aborted)) {
        return withStart({
          ok: false,
          superseded: true,
          detail: `abandoned ${action.reason}: a newer desired document no longer wants it`,
        });
      }
      return withStart({ ok: false, error: message(e), fact: factOf(e, action) });
    }
  };
}

/** Enough of an Instance to stop the one a superseded start-first attempt left (by name and ref). */
function newInstanceOf(w: Workload, slot: Slot): Instance {
  return {
    ref: "",
    name: `berth-${w.id}-${slot}`,
    workloadId: w.id,
    app: w.app,
    specHash: w.specHash,
    slot,
    port: 0,
    state: "running",
    restarts: 0,
  };
}

const describeShort = (e: InstanceExit): string =>
  e.signal ? `killed by ${e.signal}` : e.code === null ? "exit status unknown" : `exit code ${e.code}`;

/** The fact behind an error thrown by a step. */
function factOf(e: unknown, action: Action): FailureFact {
  if (e instanceof StartError) return e.fact;
  // The node cannot decrypt what the workload needs: the agent's identity is at fault, not the runtime.
  if (e instanceof SecretError || e instanceof IdentityError) return { kind: "agent", detail: message(e) };
  if (e instanceof DeadlineError)
    return {
      kind: "deadline",
      step: e.step,
      ms: e.ms,
      where: action.kind === "routes" ? "agent" : "runtime",
    };
  if (action.kind === "routes") return { kind: "agent", detail: `loading the Caddy config: ${message(e)}` };
  return { kind: "runtime", detail: message(e) };
}

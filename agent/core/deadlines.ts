// How long each step of an action may take before the executor gives up on it. Derived from the
// workload's own health timings so a slow-starting app is not cut short and a broken one is not
// waited on forever. Pure.
import type { Workload } from "../../schema/index.js";

export interface DeadlineSettings {
  /** Budget for the runtime to start an instance (podman run, spawn). */
  startMs: number;
  /** Grace between SIGTERM and SIGKILL when stopping. */
  stopGraceMs: number;
  /** Extra time on top of every computed deadline. */
  marginMs: number;
  /** Budget for one Caddy /load plus its read-back. */
  routesMs: number;
}

export const defaultDeadlines: DeadlineSettings = {
  startMs: 60_000,
  stopGraceMs: 10_000,
  marginMs: 5_000,
  routesMs: 15_000,
};

/** Time to wait for a new instance to become healthy: start period, then enough checks to pass or fail. */
export function healthDeadlineMs(h: Workload["health"], s: DeadlineSettings = defaultDeadlines): number {
  const perCheck = (h.intervalSeconds + h.timeoutSeconds) * 1000;
  const checks = h.healthyThreshold + h.unhealthyThreshold;
  return Math.round(h.startPeriodSeconds * 1000 + checks * perCheck + s.marginMs);
}

/** Budget for stopping one instance. */
export const stopDeadlineMs = (s: DeadlineSettings = defaultDeadlines): number => s.stopGraceMs + s.marginMs;

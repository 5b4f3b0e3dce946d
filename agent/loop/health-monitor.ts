// Health checks of the running instances between actions: one check per alive instance of a
// desired workload, folded into per-instance health with the app's thresholds (agent/core). Used
// on every drift tick and before planning; it reports health, it does not restart anything.
import type { Workload } from "../../schema/index.js";
import type { ObservedInstance } from "../core/actions.js";
import { type HealthRecord, recordCheck } from "../core/health-track.js";
import { checkOnce } from "../health/check.js";

/** Whether berth checks this workload's health: only when the app declares a port (a worker may listen on none). */
export const checkable = (w: Workload): boolean => w.port !== undefined;

export async function probeHealth(opts: {
  instances: readonly ObservedInstance[];
  specs: ReadonlyMap<string, Workload>;
  previous: ReadonlyMap<string, HealthRecord>;
  host: (runtime: ObservedInstance["runtime"]) => string;
  /** Only check instances whose health is not known yet. */
  onlyUnknown: boolean;
}): Promise<Map<string, HealthRecord>> {
  const next = new Map<string, HealthRecord>();
  await Promise.all(
    opts.instances.map(async (i) => {
      const prev = opts.previous.get(i.ref);
      const w = opts.specs.get(i.workloadId);
      if (!w || i.state === "exited" || !checkable(w)) return;
      if (opts.onlyUnknown && prev && prev.health !== "unknown") {
        next.set(i.ref, prev);
        return;
      }
      const r = await checkOnce({
        host: opts.host(i.runtime),
        port: i.port,
        ...(w.health.path !== undefined ? { path: w.health.path } : {}),
        timeoutMs: w.health.timeoutSeconds * 1000,
      });
      next.set(i.ref, recordCheck(prev, r.ok, r.detail, w.health));
    }),
  );
  return next;
}

// Health checks of the running instances between actions: one check per alive instance of a
// desired workload, folded into per-instance health with the app's thresholds (agent/core). Used
// on every drift tick and before planning; it reports health, it does not restart anything.
import type { Workload } from "../../schema/index.js";
import type { ObservedInstance } from "../core/actions.js";
import type { HealthPlace } from "../core/address.js";
import { type HealthRecord, recordCheck } from "../core/health-track.js";
import { checkOnce } from "../health/check.js";

/** Whether berth checks this workload's health: only when the app declares a port (a worker may listen on none). */
export const checkable = (w: Workload): boolean => w.port !== undefined;

export async function probeHealth(opts: {
  instances: readonly ObservedInstance[];
  specs: ReadonlyMap<string, Workload>;
  previous: ReadonlyMap<string, HealthRecord>;
  /** Where an instance of this runtime is checked (the node's address), or why it cannot be. */
  place: (runtime: ObservedInstance["runtime"]) => HealthPlace;
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
      const place = opts.place(i.runtime);
      const r =
        "error" in place
          ? { ok: false, detail: place.error }
          : await checkOnce({
              host: place.host,
              port: i.port,
              ...(w.health.path !== undefined ? { path: w.health.path } : {}),
              timeoutMs: w.health.timeoutSeconds * 1000,
              loopbackHint: place.loopbackHint,
            });
      next.set(i.ref, recordCheck(prev, r.ok, r.detail, w.health));
    }),
  );
  return next;
}

// Connects an AlertService to the rest of the reconciler: it observes the loop's fetches and
// pushes (git trouble), hears events (evaluates soon after a change), counts notifications and
// open alerts in /metrics, and knows the alerts branch's role for those metrics. `berth serve`
// and the tests wire it the same way through here.
import type { Logger } from "pino";
import type { BranchRole } from "../contracts.js";
import type { EventBus } from "../events.js";
import type { Metrics } from "../metrics.js";
import type { BranchSettings } from "../source/config-input.js";
import { AlertService, type AlertServiceOptions } from "./service.js";

export interface Alerting {
  service: AlertService;
  /** Pass to createReconciler({ observers }). */
  observer: AlertService["git"];
  /** Pass to createReconciler({ extraRoles }). */
  extraRoles: (settings: BranchSettings) => Record<string, BranchRole>;
  /** Stops listening to events and closes the service. */
  close(): Promise<void>;
}

export function createAlerting(
  opts: Omit<AlertServiceOptions, "count" | "openChanged"> & {
    events: EventBus;
    metrics?: Metrics;
    logger: Logger;
  },
): Alerting {
  const { events, metrics, ...rest } = opts;
  const service = new AlertService({
    ...rest,
    logger: opts.logger.child({ component: "alerts" }),
    ...(metrics
      ? {
          count: (receiver, result) => metrics.alertNotifications.inc({ receiver, result }),
          openChanged: (byRule) => {
            metrics.gauges.alertsOpen.reset();
            for (const [rule, n] of byRule) metrics.gauges.alertsOpen.set({ rule }, n);
          },
        }
      : {}),
  });
  const unsubscribe = events.subscribe((e) => service.onEvent(e));
  return {
    service,
    observer: service.git,
    extraRoles: (s) => ({ [s.alerts?.branch ?? "berth/alerts"]: "alerts" }),
    async close() {
      unsubscribe();
      await service.close();
    },
  };
}

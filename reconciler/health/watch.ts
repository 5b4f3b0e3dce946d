// The reconciler's health as it changes over time: the tracker (tracker.ts, pure) is told of every
// publish, status write and tip; this watch looks at it often enough to report a problem within
// about a quarter of its bound, and says each problem once when it appears (`degraded`, an error
// log line) and once when it clears (`recovered`). /healthz and /v1/nodes read `check()`.
import type { Logger } from "pino";
import type { EventSink } from "../contracts.js";
import { HealthTracker, type HealthView, healthChanges } from "./tracker.js";

export class HealthWatch {
  readonly tracker: HealthTracker;
  private last: HealthView = { status: "ok", problems: [] };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: {
      degradedAfterMs: number;
      trackedBranch: () => string;
      log: Logger;
      events: EventSink;
    },
  ) {
    this.tracker = new HealthTracker(opts.degradedAfterMs, opts.trackedBranch);
  }

  /** Current health; emits `degraded` / `recovered` for problems that appeared or cleared. */
  check = (): HealthView => {
    const { log, events } = this.opts;
    const now = this.tracker.view(Date.now());
    const { appeared, cleared } = healthChanges(this.last, now);
    this.last = now;
    for (const p of appeared) {
      log.error({ problem: p.problem, since: p.since }, `degraded: ${p.message}`);
      events.emit("degraded", { problem: p.problem, message: p.message, since: p.since });
    }
    for (const p of cleared) {
      const message = `${p.problem} is over (it began ${p.since})`;
      log.info({ problem: p.problem, since: p.since }, `recovered: ${message}`);
      events.emit("recovered", { problem: p.problem, message });
    }
    return now;
  };

  /** Problems become due by time alone: looks often enough to report them within ~1/4 of the bound. */
  start(): void {
    this.timer = setInterval(this.check, Math.max(50, Math.min(5_000, this.opts.degradedAfterMs / 4)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

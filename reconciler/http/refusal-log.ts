// Log lines for refused requests (bad tokens, forged or junk webhooks, bodies too slow or too
// large, deliveries beyond the bodies read at once), bounded: the first `perWindow` of each minute
// are logged in full, the rest only counted and summed up in one line when the next minute's first
// refusal comes. Anyone on the network can cause refusals, so one line each would let them fill
// the disk and spend the CPU on logging. I/O through the logger only.
import type { Logger } from "pino";

export class RefusalLog {
  private windowStart = 0;
  private logged = 0;
  private dropped = 0;

  constructor(
    private readonly logger: Logger,
    private readonly perWindow = 20,
    private readonly windowMs = 60_000,
  ) {}

  warn(line: Record<string, unknown>, msg: string, now = Date.now()): void {
    if (now - this.windowStart >= this.windowMs) {
      if (this.dropped > 0) {
        this.logger.warn(
          { notLogged: this.dropped, windowSeconds: this.windowMs / 1000 },
          "more refused requests were not logged (see berth_http_requests_total and berth_webhooks_total)",
        );
      }
      this.windowStart = now;
      this.logged = 0;
      this.dropped = 0;
    }
    if (this.logged < this.perWindow) {
      this.logged++;
      this.logger.warn(line, msg);
    } else this.dropped++;
  }
}

// Turns triggers from every source (watch, webhook, poll, startup, retry) into single-flight runs:
// a trigger during a run marks the work dirty and causes exactly one follow-up run, which reads
// the newest state. A failing run is retried with capped exponential backoff. Also times the
// stages of a run. No I/O of its own.
import type { TriggerRequest } from "../contracts.js";

export type TriggerSource = TriggerRequest["source"];

export interface CoalescerOptions {
  /** One run; `t0` is when the first trigger it serves arrived (performance.now()). */
  run(t0: number, why: TriggerSource): Promise<void>;
  /** A run threw; it will be retried after `retryInMs`. */
  failed(err: unknown, failures: number, retryInMs: number): void;
  /** A run ended without throwing. */
  succeeded?(): void;
}

export class Coalescer {
  private dirty = false;
  private running: Promise<void> | undefined;
  private since: number | undefined;
  private why: TriggerSource = "startup";
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private enabled = false;
  private stopped = false;

  constructor(private readonly opts: CoalescerOptions) {}

  /** Triggers are ignored until enabled (the reconciler enables it once it knows its branches). */
  enable(): void {
    this.enabled = !this.stopped;
  }

  trigger(req: { source: TriggerSource }): void {
    if (!this.enabled) return;
    this.dirty = true;
    this.since ??= performance.now();
    this.why = req.source;
    this.running ??= this.drain();
  }

  /** Asks for one more run after the current one (e.g. after adopting another publisher's work). */
  again(): void {
    this.dirty = true;
  }

  /** Resolves when no run is in progress or pending. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Ignores further triggers and waits for the run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.enabled = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.idle();
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty && this.enabled) {
        this.dirty = false;
        const t0 = this.since ?? performance.now();
        this.since = undefined;
        try {
          await this.opts.run(t0, this.why);
          this.failures = 0;
          this.opts.succeeded?.();
        } catch (err) {
          this.failures++;
          const wait = Math.min(60_000, 500 * 2 ** Math.min(this.failures, 7));
          this.opts.failed(err, this.failures, wait);
          this.retryLater(wait);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  private retryLater(ms: number): void {
    if (this.retryTimer || !this.enabled) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.trigger({ source: "poll" });
    }, ms);
    this.retryTimer.unref();
  }
}

/** Milliseconds per stage of one run (the `timings` of a published event: where latency goes). */
export function stageTimer(t0: number): ((stage: string) => void) & { all(): Record<string, number> } {
  const round = (ms: number) => Math.round(ms * 10) / 10;
  let last = performance.now();
  const stages: Record<string, number> = { wait: round(last - t0) };
  const lap = (stage: string) => {
    const now = performance.now();
    stages[stage] = round(now - last);
    last = now;
  };
  return Object.assign(lap, { all: () => ({ ...stages }) });
}

// Sends status reports to the reconciler without ever blocking the loop: the newest report wins,
// one PUT is in flight at a time, an unchanged report (observedAt aside) is not re-sent unless
// forced, and a failed PUT is retried later with capped backoff.
import type pino from "pino";
import { canonicalJson } from "../../core/canonical-json.js";
import type { NodeStatus } from "../../schema/index.js";
import { type BackoffPolicy, backoffDelayMs } from "../core/backoff.js";

export interface StatusReporter {
  /** Queues `status`; sends it when it differs from the last one sent, or always when `force`. */
  report(status: NodeStatus, force?: boolean): void;
  /** The last report the reconciler accepted. */
  lastSent(): NodeStatus | null;
  /** A report waiting for its retry is sent now (the reconciler is reachable again). */
  retryNow(): void;
  /** Resolves when nothing is queued or in flight, or after timeoutMs. */
  flush(timeoutMs: number): Promise<void>;
  close(): void;
}

const retryPolicy: BackoffPolicy = { baseMs: 1_000, capMs: 30_000, jitter: 0.2 };

const comparable = (s: NodeStatus): string => {
  const { observedAt: _t, ...rest } = s;
  return canonicalJson(rest);
};

export function createStatusReporter(opts: {
  put: (s: NodeStatus, signal: AbortSignal) => Promise<void>;
  logger: pino.Logger;
  onSent?: (s: NodeStatus) => void;
  putTimeoutMs?: number;
}): StatusReporter {
  let queued: NodeStatus | null = null;
  let forced = false;
  let sent: NodeStatus | null = null;
  let sentKey: string | null = null;
  let inFlight = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const abort = new AbortController();
  let drained: (() => void)[] = [];

  const settle = () => {
    if (queued || inFlight || retryTimer) return;
    for (const d of drained) d();
    drained = [];
  };

  function pump(): void {
    if (closed || inFlight || retryTimer || !queued) {
      settle();
      return;
    }
    const next = queued;
    const key = comparable(next);
    if (!forced && key === sentKey) {
      queued = null;
      settle();
      return;
    }
    queued = null;
    forced = false;
    inFlight = true;
    const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(opts.putTimeoutMs ?? 15_000)]);
    opts
      .put(next, signal)
      .then(() => {
        failures = 0;
        sent = next;
        sentKey = key;
        opts.onSent?.(next);
      })
      .catch((e: Error) => {
        failures++;
        // Keep the failed report unless a newer one is already queued.
        if (!queued) {
          queued = next;
          forced = true;
        }
        const delay = backoffDelayMs(failures, retryPolicy, Math.random());
        if (!closed) {
          opts.logger.warn({ err: e.message, retryInMs: delay }, "status report failed; will retry");
          retryTimer = setTimeout(() => {
            retryTimer = null;
            pump();
          }, delay);
          retryTimer.unref();
        }
      })
      .finally(() => {
        inFlight = false;
        pump();
      });
  }

  return {
    report(status, force = false) {
      queued = status;
      forced ||= force;
      pump();
    },
    lastSent: () => sent,
    retryNow() {
      if (!retryTimer) return;
      clearTimeout(retryTimer);
      retryTimer = null;
      pump();
    },
    flush(timeoutMs) {
      if (!queued && !inFlight && !retryTimer) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        drained.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    },
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      abort.abort();
      for (const d of drained) d();
      drained = [];
    },
  };
}

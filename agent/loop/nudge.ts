// A pause that another part of the agent can cut short: the poller backs off while the
// reconciler is unreachable, and a status report that gets through meanwhile ends that pause, so
// the agent polls again at once instead of staying silent for the rest of a back-off up to 30 s
// (the reconciler would call the node stale meanwhile).
import { setTimeout as sleep } from "node:timers/promises";

export interface Nudge {
  /** Waits `ms`, or until fire() or `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
  /** Ends the wait in progress, if any. */
  fire(): void;
}

export function createNudge(): Nudge {
  let current: AbortController | null = null;
  return {
    async wait(ms, signal) {
      const ctl = new AbortController();
      current = ctl;
      try {
        await sleep(ms, undefined, { signal: AbortSignal.any([signal, ctl.signal]) });
      } catch {
        // fired or aborted: either way the wait is over
      } finally {
        if (current === ctl) current = null;
      }
    },
    fire() {
      current?.abort();
    },
  };
}

// The long-poll loop: asks the reconciler for the node's document with the ETag of the last one
// received, hands new documents to the machine, and backs off (capped, jittered) while the
// reconciler is unreachable, answers 5xx, does not know the node or refuses the token. With
// several reconciler URLs it stays on the one that works and moves to the next when it fails
// (backing off only after every one failed in a row). It never tears anything down: the machine
// keeps applying what it has, and the same document from another reconciler changes nothing.

import { setTimeout as sleep } from "node:timers/promises";
import type pino from "pino";
import { type BackoffPolicy, backoffDelayMs } from "../core/backoff.js";
import type { AgentEvent } from "../core/events.js";
import type { Machine } from "./machine.js";
import type { Nudge } from "./nudge.js";
import type { ReconcilerClient } from "./reconciler-client.js";

const errorPolicy: BackoffPolicy = { baseMs: 1_000, capMs: 30_000, jitter: 0.2 };
/** A "no change" answer faster than this means the server does not long-poll: poll at this pace. */
const minPollMs = 1_000;

export interface PollerOptions {
  /** Cuts a back-off pause short (a status report got through: the reconciler is reachable). */
  nudge?: Nudge;
  /** Called when a call works again after failures (the status reporter retries at once). */
  onRecovered?: () => void;
  client: ReconcilerClient;
  machine: Machine;
  waitSeconds: number;
  initialEtag: string | null;
  signal: AbortSignal;
  logger: pino.Logger;
  emit: (e: AgentEvent) => void;
  /** Every answer from the reconciler (a document or "unchanged"): last contact, for /metrics. */
  onContact?: (at: number) => void;
  /** The reconciler holds requests for this node (logs, restart): fetch them. */
  onRequests?: () => void;
}

export async function runPoller(o: PollerOptions): Promise<void> {
  let etag = o.initialEtag;
  /** Failed polls in a row, over every URL. */
  let failures = 0;
  const urls = o.client.urls().length;
  const pause = (ms: number) => sleep(ms, undefined, { signal: o.signal }).catch(() => undefined);
  const backoff = (ms: number) => (o.nudge ? o.nudge.wait(ms, o.signal) : pause(ms));
  const recovered = () => {
    o.onContact?.(Date.now());
    if (failures > 0) {
      o.logger.info({ url: o.client.current(), failures }, "reconciler reachable again");
      o.onRecovered?.();
    }
    failures = 0;
    o.machine.setReconcilerProblem("reconciler-unreachable", null);
  };
  while (!o.signal.aborted) {
    const t0 = Date.now();
    // After a failure the first poll asks for no wait: the answer comes at once, so the problem
    // the status reports clears on the first call that works, not a long-poll later.
    const wait = failures > 0 ? 0 : o.waitSeconds;
    const r = await o.client.poll(etag, wait, o.signal);
    if (o.signal.aborted) break;
    o.machine.markPolled();
    if ((r.kind === "unchanged" || r.kind === "document") && r.requests) o.onRequests?.();
    switch (r.kind) {
      case "unchanged":
        recovered();
        // A poll ended early by a request is not a server that fails to long-poll.
        if (wait > 0 && Date.now() - t0 < minPollMs && !r.requests) await pause(minPollMs);
        continue;
      case "document": {
        recovered();
        const hash = (r.body as { hash?: unknown } | null)?.hash;
        etag = r.etag ?? (typeof hash === "string" ? hash : null);
        await o.machine.offer(r.body);
        // A server that ignores If-None-Match would answer at once every time: do not spin.
        if (Date.now() - t0 < minPollMs && r.etag === null) await pause(minPollMs);
        continue;
      }
      case "corrupt":
        failures++;
        o.machine.setReconcilerProblem("reconciler-unreachable", null);
        o.machine.reject("document-invalid", r.message, null);
        if (r.etag) etag = r.etag;
        else await backoff(backoffDelayMs(failures, errorPolicy, Math.random()));
        continue;
      default: {
        failures++;
        const code =
          r.kind === "not-found"
            ? "node-unknown"
            : r.kind === "unauthorized"
              ? "unauthorized"
              : "reconciler-unreachable";
        const from = o.client.current();
        // Several reconcilers: try the next one at once; back off only after a whole round failed.
        const next = urls > 1 ? o.client.failover() : from;
        const round = Math.ceil(failures / urls);
        const delay = failures % urls === 0 ? backoffDelayMs(round, errorPolicy, Math.random()) : 0;
        if (failures === 1 || failures % 10 === 0 || urls > 1) {
          o.logger.warn(
            { err: r.message, retryInMs: delay, failures, ...(urls > 1 ? { next } : {}) },
            urls > 1
              ? `cannot get the desired document from ${from}; trying ${next}, keeping what runs`
              : "cannot get the desired document; keeping what runs",
          );
        }
        if (failures === 1) o.emit({ type: "reconciler-unreachable", message: r.message });
        o.machine.setReconcilerProblem(code, r.message);
        if (delay > 0) await backoff(delay);
      }
    }
  }
}

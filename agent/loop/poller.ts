// The long-poll loop: asks the reconciler for the node's document with the ETag of the last one
// received, hands new documents to the machine, and backs off (capped, jittered) while the
// reconciler is unreachable, answers 5xx, does not know the node or refuses the token. It never
// tears anything down: the machine keeps applying what it has.

import { setTimeout as sleep } from "node:timers/promises";
import type pino from "pino";
import { type BackoffPolicy, backoffDelayMs } from "../core/backoff.js";
import type { AgentEvent } from "../core/events.js";
import type { Machine } from "./machine.js";
import type { ReconcilerClient } from "./reconciler-client.js";

const errorPolicy: BackoffPolicy = { baseMs: 1_000, capMs: 30_000, jitter: 0.2 };
/** A "no change" answer faster than this means the server does not long-poll: poll at this pace. */
const minPollMs = 1_000;

export interface PollerOptions {
  client: ReconcilerClient;
  machine: Machine;
  waitSeconds: number;
  initialEtag: string | null;
  signal: AbortSignal;
  logger: pino.Logger;
  emit: (e: AgentEvent) => void;
  /** The reconciler holds requests for this node (logs, restart): fetch them. */
  onRequests?: () => void;
}

export async function runPoller(o: PollerOptions): Promise<void> {
  let etag = o.initialEtag;
  let failures = 0;
  const pause = (ms: number) => sleep(ms, undefined, { signal: o.signal }).catch(() => undefined);
  while (!o.signal.aborted) {
    const t0 = Date.now();
    const r = await o.client.poll(etag, o.waitSeconds, o.signal);
    if (o.signal.aborted) break;
    o.machine.markPolled();
    if ((r.kind === "unchanged" || r.kind === "document") && r.requests) o.onRequests?.();
    switch (r.kind) {
      case "unchanged":
        failures = 0;
        o.machine.setReconcilerProblem("reconciler-unreachable", null);
        // A poll ended early by a request is not a server that fails to long-poll.
        if (Date.now() - t0 < minPollMs && !r.requests) await pause(minPollMs);
        continue;
      case "document": {
        failures = 0;
        o.machine.setReconcilerProblem("reconciler-unreachable", null);
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
        else await pause(backoffDelayMs(failures, errorPolicy, Math.random()));
        continue;
      default: {
        failures++;
        const delay = backoffDelayMs(failures, errorPolicy, Math.random());
        const code =
          r.kind === "not-found"
            ? "node-unknown"
            : r.kind === "unauthorized"
              ? "unauthorized"
              : "reconciler-unreachable";
        if (failures === 1 || failures % 10 === 0) {
          o.logger.warn(
            { err: r.message, retryInMs: delay, failures },
            "cannot get the desired document; keeping what runs",
          );
        }
        if (failures === 1) o.emit({ type: "reconciler-unreachable", message: r.message });
        o.machine.setReconcilerProblem(code, r.message);
        await pause(delay);
      }
    }
  }
}

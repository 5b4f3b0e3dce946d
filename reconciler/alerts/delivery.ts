// Sends alert notifications to receivers over HTTP, off the reconciler's path: each outbox entry
// is POSTed (at most 4 at once per receiver) with a 10 s deadline, retried with capped exponential
// backoff on network errors, timeouts, 429 and 5xx (Retry-After honoured up to the cap), and
// dropped after the last attempt or on another 4xx — logged and counted, never thrown. Webhook
// bodies are signed with HMAC-SHA256 over the exact bytes sent (X-Berth-Signature-256). Nothing
// here waits on the reconcile loop, and nothing in the loop waits on this.
import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import { request } from "undici";
import { bodyFor, linkOf, type ReceiverKind } from "../../core/alerts/index.js";
import type { OutboxEntry } from "./store.js";

export interface Receiver {
  name: string;
  kind: ReceiverKind;
  /** null when the secret holding it is missing (then `problem` says which). */
  url: string | null;
  signingKey?: string;
  problem?: string;
}

export type DeliveryResult = "delivered" | "retried" | "dropped";

export interface DeliveryOptions {
  logger: Logger;
  /** Base of alert links (berth.yaml publicUrl), read at send time. */
  publicUrl: () => string | undefined;
  /** Called when an entry is finished (delivered or dropped): the service removes it from the outbox. */
  done: (entry: OutboxEntry, result: "delivered" | "dropped") => void;
  count?: (receiver: string, result: DeliveryResult) => void;
  userAgent?: string;
  timeoutMs?: number;
  retry?: { baseMs: number; capMs: number; attempts: number };
}

const perReceiver = 4;

interface Job {
  entry: OutboxEntry;
  attempt: number;
}

export function signature(key: string, body: string): string {
  return `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;
}

export class Deliverer {
  private receivers = new Map<string, Receiver>();
  private readonly queued = new Map<string, Job[]>();
  private readonly active = new Map<string, number>();
  private readonly known = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private readonly retry: { baseMs: number; capMs: number; attempts: number };

  constructor(private readonly opts: DeliveryOptions) {
    this.retry = opts.retry ?? { baseMs: 1_000, capMs: 60_000, attempts: 8 };
  }

  setReceivers(list: readonly Receiver[]): void {
    this.receivers = new Map(list.map((r) => [r.name, r]));
  }

  /** Queues an entry unless it is queued already (same id). */
  enqueue(entry: OutboxEntry): void {
    if (this.known.has(entry.id) || this.abort.signal.aborted) return;
    this.known.add(entry.id);
    this.inFlight++;
    this.push(entry, 1);
  }

  /** Resolves when every queued entry is delivered or dropped (tests). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops sending: pending retries are abandoned (they stay in the outbox for the next start). */
  close(): void {
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private push(entry: OutboxEntry, attempt: number): void {
    const list = this.queued.get(entry.receiver) ?? [];
    list.push({ entry, attempt });
    this.queued.set(entry.receiver, list);
    this.pump(entry.receiver);
  }

  private pump(receiver: string): void {
    const list = this.queued.get(receiver) ?? [];
    while ((this.active.get(receiver) ?? 0) < perReceiver && list.length > 0 && !this.abort.signal.aborted) {
      const job = list.shift() as Job;
      this.active.set(receiver, (this.active.get(receiver) ?? 0) + 1);
      void this.attempt(job).finally(() => {
        this.active.set(receiver, (this.active.get(receiver) ?? 1) - 1);
        this.pump(receiver);
      });
    }
  }

  private finish(entry: OutboxEntry, result: "delivered" | "dropped"): void {
    this.opts.count?.(entry.receiver, result);
    this.known.delete(entry.id);
    try {
      this.opts.done(entry, result);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
    }
  }

  private async attempt({ entry, attempt }: Job): Promise<void> {
    const log = this.opts.logger;
    const n = entry.notification;
    const fields = {
      receiver: entry.receiver,
      alert: n.fingerprint,
      rule: n.rule,
      notification: n.kind,
      delivery: entry.id,
    };
    const r = this.receivers.get(entry.receiver);
    if (!r || r.url === null) {
      log.error(
        { ...fields, problem: r?.problem ?? "receiver no longer in berth.yaml" },
        "alert notification dropped",
      );
      return this.finish(entry, "dropped");
    }
    const body = JSON.stringify(bodyFor(r.kind, n, linkOf(this.opts.publicUrl(), n.path), Date.now()));
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": this.opts.userAgent ?? "berth",
      "x-berth-delivery": entry.id,
      "x-berth-event": "alert",
    };
    if (r.signingKey) headers["x-berth-signature-256"] = signature(r.signingKey, body);
    let retryAfterMs: number | null = null;
    let why: string;
    try {
      const timeout = this.opts.timeoutMs ?? 10_000;
      const res = await request(r.url, {
        method: "POST",
        headers,
        body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeout)]),
      });
      await res.body.dump().catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) {
        log.info({ ...fields, attempt: attempt }, "alert notification delivered");
        return this.finish(entry, "delivered");
      }
      why = `HTTP ${res.statusCode}`;
      const retryable = res.statusCode === 429 || res.statusCode >= 500 || res.statusCode === 408;
      if (!retryable) {
        log.error(
          { ...fields, status: res.statusCode },
          "alert receiver refused the notification; dropped (check its URL and secret)",
        );
        return this.finish(entry, "dropped");
      }
      const ra = Number(res.headers["retry-after"]);
      if (Number.isFinite(ra) && ra >= 0) retryAfterMs = ra * 1000;
    } catch (err) {
      if (this.abort.signal.aborted) return; // stopping: the outbox keeps it
      why = (err as Error).message;
    }
    if (attempt >= this.retry.attempts) {
      log.error({ ...fields, attempts: attempt, err: why }, "alert notification dropped after every retry");
      return this.finish(entry, "dropped");
    }
    const backoff = Math.min(this.retry.capMs, this.retry.baseMs * 2 ** (attempt - 1));
    const delay = Math.min(this.retry.capMs, Math.max(backoff, retryAfterMs ?? 0));
    log.warn(
      { ...fields, attempt: attempt, retryInMs: delay, err: why },
      "alert notification failed; will retry",
    );
    this.opts.count?.(entry.receiver, "retried");
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.push(entry, attempt + 1);
    }, delay);
    t.unref();
    this.timers.add(t);
  }
}

// berth's own alerting, wired: takes receivers and rules from berth.yaml (each valid commit), runs
// the pure engine (core/alerts) on the reconciler's facts every few seconds, on events and when a
// window ends, records each transition on the alerts branch (store.ts) BEFORE sending its
// notifications, and hands them to the Deliverer. Evaluations are serialized; nothing here is on
// the reconcile loop's path. When the branch cannot be written (git trouble is itself an alert),
// notifications still go out and the write is retried: availability over exactly-once.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import {
  type AlertState,
  linkOf,
  type Notification,
  nextDue,
  normalizeRules,
  type Rule,
  step,
} from "../../core/alerts/index.js";
import type { Settings } from "../../schema/index.js";
import type { BerthEvent } from "../contracts.js";
import { Deliverer, type DeliveryResult, type Receiver } from "./delivery.js";
import { type FactsBackend, GitTroubleTracker, gatherFacts } from "./facts.js";
import { type AlertsDocument, type BranchAccess, loadAlerts, type OutboxEntry, saveAlerts } from "./store.js";

export interface AlertConfig {
  alerts?: Settings["alerts"];
  publicUrl?: string;
}

export interface AlertServiceOptions {
  /** Secrets-file entries (name → value) that receivers reference. */
  secrets: ReadonlyMap<string, string>;
  logger: Logger;
  /** This reconciler, stably across restarts (host + state location): owner of outbox entries. */
  owner: string;
  count?: (receiver: string, result: DeliveryResult) => void;
  /** Open alerts per rule changed (the berth_alerts_open gauge). */
  openChanged?: (byRule: ReadonlyMap<string, number>) => void;
  tickMs?: number;
  clock?: () => number;
  liveness?: { staleAfterMs: number; lostAfterMs: number };
  retry?: { baseMs: number; capMs: number; attempts: number };
  timeoutMs?: number;
  userAgent?: string;
  /** Outbox entries of another reconciler are sent by this one only when older than this (default 15 min). */
  adoptAfterMs?: number;
}

export interface AlertView {
  fingerprint: string;
  rule: string;
  kind: string;
  subject: Record<string, string>;
  status: AlertState["status"];
  summary: string;
  cause: string;
  link: string | null;
  since: string;
  firedAt: string | null;
}

export interface AlertsView {
  enabled: boolean;
  branch: string;
  alerts: AlertView[];
  pending: AlertView[];
  undelivered: number;
  receivers: { name: string; kind: string; ok: boolean; problem?: string }[];
}

export class AlertService {
  readonly git: GitTroubleTracker;
  private readonly clock: () => number;
  private readonly startedAt: number;
  private readonly deliverer: Deliverer;
  private config: AlertConfig = {};
  private rules: Rule[] = [];
  private receivers: Receiver[] = [];
  private access: BranchAccess | null = null;
  private backend: FactsBackend | null = null;
  private branch = "berth/alerts";
  private tip: string | null = null;
  private states = new Map<string, AlertState>();
  private outbox: OutboxEntry[] = [];
  private dirty = false;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private closed = false;

  constructor(private readonly opts: AlertServiceOptions) {
    this.clock = opts.clock ?? Date.now;
    this.startedAt = this.clock();
    this.git = new GitTroubleTracker(this.clock);
    this.deliverer = new Deliverer({
      logger: opts.logger,
      publicUrl: () => this.config.publicUrl,
      done: (entry) => {
        this.outbox = this.outbox.filter((e) => e.id !== entry.id);
        this.dirty = true;
        this.schedule(1_000);
      },
      ...(opts.count ? { count: opts.count } : {}),
      ...(opts.retry ? { retry: opts.retry } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.userAgent ? { userAgent: opts.userAgent } : {}),
    });
  }

  get enabled(): boolean {
    return (this.config.alerts?.receivers?.length ?? 0) > 0;
  }

  /** Receivers and rules of the newest valid berth.yaml. */
  configure(config: AlertConfig): void {
    const before = JSON.stringify(this.config);
    this.config = config;
    if (JSON.stringify(config) === before) return;
    this.branch = config.alerts?.branch ?? "berth/alerts";
    this.rules = normalizeRules(config.alerts?.rules);
    this.receivers = (config.alerts?.receivers ?? []).map((r) => this.resolve(r));
    this.deliverer.setReceivers(this.receivers);
    for (const r of this.receivers)
      if (r.problem)
        this.opts.logger.error({ receiver: r.name, problem: r.problem }, "alert receiver unusable");
    this.schedule(0);
  }

  /** Reads the alerts branch and resumes: open alerts stay open (nothing re-fires), the outbox is sent. */
  async start(backend: FactsBackend, access: BranchAccess): Promise<void> {
    this.backend = backend;
    // In the evaluation chain: an evaluation must never decide from an empty state while the
    // branch is being read (it would fire again what is open, and the read would then undo it).
    this.chain = this.chain.then(async () => {
      this.access = access;
      if (this.enabled) await this.reload("startup");
    });
    await this.chain;
    this.schedule(0);
  }

  /** Events that change facts: evaluate soon rather than at the next tick. */
  onEvent(e: BerthEvent): void {
    this.git.event(e.type, e.data);
    if (e.type === "detected" || e.type === "planned" || e.type === "status-committed") return;
    this.schedule(50);
  }

  view(): AlertsView {
    const toView = (s: AlertState): AlertView => ({
      fingerprint: s.fingerprint,
      rule: s.rule,
      kind: s.kind,
      subject: s.subject,
      status: s.status,
      summary: s.summary,
      cause: s.cause,
      link: linkOf(this.config.publicUrl, s.path),
      since: new Date(s.activeSince).toISOString(),
      firedAt: s.firedAt === undefined ? null : new Date(s.firedAt).toISOString(),
    });
    const all = [...this.states.values()].sort(
      (a, b) => a.activeSince - b.activeSince || a.fingerprint.localeCompare(b.fingerprint),
    );
    return {
      enabled: this.enabled,
      branch: this.branch,
      alerts: all.filter((s) => s.status !== "pending").map(toView),
      pending: all.filter((s) => s.status === "pending").map(toView),
      undelivered: this.outbox.length,
      receivers: this.receivers.map((r) => ({
        name: r.name,
        kind: r.kind,
        ok: !r.problem,
        ...(r.problem ? { problem: r.problem } : {}),
      })),
    };
  }

  /** Runs one evaluation now (after any in progress). */
  evaluate(): Promise<void> {
    if (!this.queued) {
      this.queued = true;
      this.chain = this.chain.then(async () => {
        this.queued = false;
        await this.evaluateOnce().catch((err: unknown) =>
          this.opts.logger.error(
            { err: (err as Error).stack ?? String(err) },
            "alert evaluation failed (this is a bug)",
          ),
        );
      });
    }
    return this.chain;
  }

  /** Settles when no evaluation runs and every notification is delivered or dropped (tests). */
  async idle(): Promise<void> {
    await this.chain;
    await this.deliverer.idle();
    await this.chain;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.chain;
    this.deliverer.close();
    // Delivered entries leave the outbox on disk too, so a restart does not send them again.
    if (this.dirty && this.access && this.enabled) await this.save("delivered").catch(() => undefined);
  }

  private resolve(r: NonNullable<NonNullable<Settings["alerts"]>["receivers"]>[number]): Receiver {
    const missing: string[] = [];
    const secret = (name: string | undefined) => {
      if (name === undefined) return undefined;
      const v = this.opts.secrets.get(name);
      if (v === undefined) missing.push(name);
      return v;
    };
    const url = r.url ?? secret(r.urlSecret) ?? null;
    const signingKey = secret(r.signingSecret);
    const problem = missing.length
      ? `the alert secrets file has no entry ${missing.map((m) => `"${m}"`).join(" or ")} (berth serve --alert-secrets-file)`
      : undefined;
    return {
      name: r.name,
      kind: r.kind,
      url: problem && !r.url ? null : url,
      ...(signingKey ? { signingKey } : {}),
      ...(problem ? { problem } : {}),
    };
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    const at = this.clock() + delayMs;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.evaluate();
    }, delayMs);
    this.timer.unref();
  }

  private async evaluateOnce(): Promise<void> {
    if (this.closed || !this.access || !this.backend || !this.enabled) return;
    const now = this.clock();
    const facts = gatherFacts(this.backend, this.git.list(), now, {
      startedAt: this.startedAt,
      tipChecked: this.git.tipChecked,
      ...(this.opts.liveness ? { liveness: this.opts.liveness } : {}),
    });
    const r = step(this.rules, this.states, facts, now);
    const entries = r.notifications.flatMap((n) => this.route(n, now));
    if (r.changed || this.dirty || entries.length > 0) {
      const previous = { states: this.states, outbox: this.outbox };
      this.states = r.states;
      this.outbox = [...this.outbox, ...entries];
      const saved = await this.save(describe(r.notifications)).catch((err: unknown) => {
        this.opts.logger.error(
          { branch: this.branch, err: (err as Error).message },
          "cannot write alert state; notifications go out anyway, the write is retried",
        );
        this.dirty = true;
        return "error" as const;
      });
      if (saved === "moved") {
        // Another reconciler recorded a transition first: adopt its state, decide again.
        this.states = previous.states;
        this.outbox = previous.outbox;
        await this.reload("another reconciler wrote alert state");
        this.schedule(100);
        return;
      }
      for (const e of entries) this.deliverer.enqueue(e);
      this.reportOpen();
    }
    const due = nextDue(this.rules, this.states);
    const tick = this.opts.tickMs ?? 5_000;
    this.schedule(Math.max(0, Math.min(tick, due === null ? tick : due - this.clock())));
  }

  /** One outbox entry per receiver the rule names (every receiver when it names none). */
  private route(n: Notification, now: number): OutboxEntry[] {
    const names = n.receivers.length > 0 ? n.receivers : this.receivers.map((r) => r.name);
    return names.map((receiver) => ({
      id: randomUUID(),
      receiver,
      notification: n,
      owner: this.opts.owner,
      queuedAt: now,
    }));
  }

  private async save(message: string): Promise<"ok" | "moved"> {
    const access = this.access as BranchAccess;
    const doc: AlertsDocument = { version: 1, alerts: [...this.states.values()], outbox: this.outbox };
    const r = await saveAlerts(access, this.branch, this.tip, doc, `alerts: ${message}`);
    if (r.result === "moved") return "moved";
    this.tip = r.tip;
    this.dirty = false;
    return "ok";
  }

  private async reload(why: string): Promise<void> {
    const loaded = await loadAlerts(this.access as BranchAccess, this.branch).catch((err: unknown) => {
      this.opts.logger.error(
        { branch: this.branch, err: (err as Error).message },
        "cannot read alert state; starting empty",
      );
      return null;
    });
    if (!loaded) return;
    if (loaded.problem)
      this.opts.logger.warn({ branch: this.branch, problem: loaded.problem }, "alert state");
    this.tip = loaded.tip;
    this.states = new Map(loaded.doc.alerts.map((s) => [s.fingerprint, s]));
    this.outbox = loaded.doc.outbox;
    const now = this.clock();
    for (const e of this.outbox) {
      // Ours (a restart) or abandoned by its owner: send it; else the owner is sending it now.
      if (e.owner === this.opts.owner || now - e.queuedAt > (this.opts.adoptAfterMs ?? 15 * 60_000))
        this.deliverer.enqueue(e);
    }
    this.opts.logger.info(
      {
        branch: this.branch,
        open: [...this.states.values()].filter((s) => s.status !== "pending").length,
        undelivered: this.outbox.length,
        why,
      },
      "alert state loaded",
    );
    this.reportOpen();
  }

  private reportOpen(): void {
    const byRule = new Map<string, number>();
    for (const r of this.rules) byRule.set(r.name, 0);
    for (const s of this.states.values())
      if (s.status !== "pending") byRule.set(s.rule, (byRule.get(s.rule) ?? 0) + 1);
    this.opts.openChanged?.(byRule);
  }
}

function describe(ns: readonly Notification[]): string {
  if (ns.length === 0) return "state";
  const first = ns.slice(0, 3).map((n) => `${n.kind} ${n.rule} ${Object.values(n.subject).join("/")}`);
  return `${first.join(", ")}${ns.length > 3 ? ` and ${ns.length - 3} more` : ""}`;
}

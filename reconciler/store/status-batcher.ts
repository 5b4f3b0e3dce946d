// Batches agents' status reports (and the reconciler's liveness verdicts) into commits on the
// status branch: a report that differs from
// the last committed status (observedAt ignored) waits in a batch; the batch is committed at most
// once per `batchMs` for all nodes together, on top of the branch's tip with compare-and-swap; a
// lost race (another writer moved the tip) refreshes the tip and rebases the batch onto it. A
// failed write is retried later with the batch kept (newer reports win). I/O through a
// ConfigSource.
import type { Logger } from "pino";
import type { LivenessRecord, NodeStatus } from "../../schema/index.js";
import type { EventSink } from "../contracts.js";
import type { ConfigSource } from "../source/types.js";
import { statusKey } from "./status-layout.js";
import { type CommittedStatus, readCommittedStatuses, writeStatusCommit } from "./status-store.js";

export interface StatusBatcherOptions {
  source: ConfigSource;
  branch: string;
  batchMs: number;
  events: EventSink;
  logger: Logger;
  /** Told of every write attempt's outcome (null: written), for the health checks. */
  onWrite?: (err: Error | null) => void;
}

/** How often a batch is rebased onto a moved tip before the write counts as failed. */
const maxRebases = 8;

export class StatusBatcher {
  private readonly committed = new Map<string, string>();
  /** Keys of the batch being written: what will be committed unless the write fails. */
  private inflight = new Map<string, string>();
  private pending = new Map<string, NodeStatus>();
  /** Liveness verdicts: committed keys, and the ones waiting (same batching as statuses). */
  private readonly committedLiveness = new Map<string, string>();
  private pendingLiveness = new Map<string, LivenessRecord>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private failures = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: StatusBatcherOptions) {}

  /** Reads what the status branch holds (after refreshing it); remembers it as committed. */
  async load(): Promise<CommittedStatus> {
    const { source, branch } = this.opts;
    const tip = source.mode === "remote" ? await source.refresh(branch) : await source.tip(branch);
    if (tip === null) return { statuses: new Map(), liveness: new Map(), problems: [] };
    const read = await readCommittedStatuses(source.git, tip);
    for (const p of read.problems)
      this.opts.logger.warn({ branch, problem: p }, "unreadable status file ignored");
    for (const [node, s] of read.statuses) this.committed.set(node, statusKey(s));
    for (const [node, v] of read.liveness) this.committedLiveness.set(node, `${v.state}@${v.since}`);
    return read;
  }

  /** Queues a liveness verdict (a change of state: the reconciler only calls this on transitions). */
  addLiveness(record: LivenessRecord): void {
    if (this.committedLiveness.get(record.node) === livenessKey(record)) {
      this.pendingLiveness.delete(record.node);
      return;
    }
    this.pendingLiveness.set(record.node, record);
    this.schedule(this.opts.batchMs);
  }

  /** Queues `status` when it differs from what is committed for the node. */
  add(node: string, status: NodeStatus): void {
    const key = statusKey(status);
    if ((this.inflight.get(node) ?? this.committed.get(node)) === key) {
      // Back to what is committed: an older queued change must not be written any more.
      this.pending.delete(node);
      return;
    }
    this.pending.set(node, status);
    this.schedule(this.opts.batchMs);
  }

  /** Resolves when nothing is queued, waiting or being written. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Writes what is queued now (best effort) and stops batching. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.flushing) await this.flushing;
    if (this.hasPending()) await this.flush();
    this.stopped = true;
    this.settle();
  }

  private isIdle(): boolean {
    return this.pending.size === 0 && this.pendingLiveness.size === 0 && !this.timer && !this.flushing;
  }

  private settle(): void {
    if (!this.isIdle() && !this.stopped) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.flushing || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().then(() => {
        if (this.hasPending()) {
          const backoff = Math.min(60_000, this.opts.batchMs * 2 ** this.failures);
          this.schedule(this.failures > 0 ? backoff : this.opts.batchMs);
        }
        this.settle();
      });
    }, delayMs);
  }

  private hasPending(): boolean {
    return this.pending.size > 0 || this.pendingLiveness.size > 0;
  }

  private flush(): Promise<void> {
    const batch = this.pending;
    const liveness = this.pendingLiveness;
    this.pending = new Map();
    this.pendingLiveness = new Map();
    this.inflight = new Map([...batch].map(([node, s]) => [node, statusKey(s)]));
    this.flushing = this.write(batch, liveness)
      .then(() => {
        this.failures = 0;
        this.opts.onWrite?.(null);
      })
      .catch((err: unknown) => {
        this.failures++;
        // Keep the batch for the next attempt, unless a newer report replaced it meanwhile.
        for (const [node, s] of batch) if (!this.pending.has(node)) this.pending.set(node, s);
        for (const [node, r] of liveness)
          if (!this.pendingLiveness.has(node)) this.pendingLiveness.set(node, r);
        const message = (err as Error).message;
        this.opts.logger.error(
          { branch: this.opts.branch, err: message },
          "writing statuses failed; will retry",
        );
        this.opts.events.emit("reconciler-error", { op: "status-commit", message });
        this.opts.onWrite?.(err as Error);
      })
      .finally(() => {
        this.inflight = new Map();
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async write(batch: Map<string, NodeStatus>, liveness: Map<string, LivenessRecord>): Promise<void> {
    if (batch.size === 0 && liveness.size === 0) return;
    const { source, branch } = this.opts;
    for (let attempt = 0; attempt <= maxRebases; attempt++) {
      const tip = await source.tip(branch);
      const commit = await writeStatusCommit(source.git, tip, batch, liveness);
      const result = commit === null ? "ok" : await source.publish(branch, commit, tip);
      if (result === "ok") {
        for (const [node, s] of batch) this.committed.set(node, statusKey(s));
        for (const [node, r] of liveness) this.committedLiveness.set(node, livenessKey(r));
        if (commit !== null) {
          const nodes = [...new Set([...batch.keys(), ...liveness.keys()])].sort();
          this.opts.logger.info({ branch, commit, nodes: nodes.length }, "statuses committed");
          this.opts.events.emit("status-committed", { branch, commit, nodes });
        }
        return;
      }
      // Someone else wrote the branch: take their tip and put our batch on top of it.
      await source.refresh(branch);
    }
    throw new Error(`the ${branch} branch kept moving while writing statuses (${maxRebases} attempts)`);
  }
}

/** Equal for two records of the same verdict (state and since), whatever the lastSeen text. */
function livenessKey(r: LivenessRecord): string {
  return `${r.liveness}@${Date.parse(r.since)}`;
}

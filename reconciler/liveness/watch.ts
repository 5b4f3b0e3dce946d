// Keeps every node's liveness verdict up to date and announces the changes: once a second (and on
// every contact, so a node that comes back is announced at once) it asks core/status/liveness.ts
// for each node's verdict and hands verdict changes to `announce` (the reconciler emits the event,
// logs it and commits it to the status branch). Reads are computed fresh, so the API is exact
// between checks. The shell around the pure decisions: timers and bookkeeping only.
import {
  announcement,
  type Liveness,
  type LivenessBounds,
  type LivenessEvent,
  livenessAt,
  livenessMessage,
  type NodeLiveness,
  type ReferenceTimes,
} from "../../core/status/liveness.js";
import type { ContactBook } from "./contacts.js";

export interface LivenessChange {
  node: string;
  verdict: NodeLiveness;
  /** The event to emit, or "record": commit only (a node's first verdict, alive). */
  kind: LivenessEvent | "record";
  message: string;
}

export interface LivenessWatchOptions {
  bounds: LivenessBounds;
  contacts: ContactBook;
  /** The nodes to judge (every node of the published config). */
  nodes: () => Iterable<string>;
  announce: (change: LivenessChange) => void;
  now?: () => number;
  /** How often verdicts are checked (default 1000 ms). */
  checkMs?: number;
}

export interface LivenessView extends NodeLiveness {
  message: string;
}

export class LivenessWatch {
  readonly startedAt: number;
  private readonly verdicts = new Map<string, NodeLiveness>();
  private readonly announced = new Map<string, Liveness>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: LivenessWatchOptions) {
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
  }

  get bounds(): LivenessBounds {
    return this.opts.bounds;
  }

  /** Verdicts committed before this process started (status branch): their state counts as announced. */
  seed(committed: ReadonlyMap<string, NodeLiveness>): void {
    for (const [node, v] of committed) {
      if (!this.verdicts.has(node)) this.verdicts.set(node, v);
      if (!this.announced.has(node)) this.announced.set(node, v.state);
    }
  }

  /** The verdict of `node` now (not stored: check() announces changes). */
  view(node: string, now = this.now()): LivenessView {
    const v = this.verdictAt(node, now);
    return { ...v, message: livenessMessage(node, v, now, this.opts.bounds, this.reference()) };
  }

  /** Re-judges every node (or one) and announces what changed. */
  check(only?: string): void {
    const now = this.now();
    const known = new Set(this.opts.nodes());
    if (only !== undefined && !known.has(only)) return;
    const names = only === undefined ? known : new Set([only]);
    for (const node of names) {
      const v = this.verdictAt(node, now);
      this.verdicts.set(node, v);
      const kind = announcement(this.announced.get(node), v);
      if (kind === null) continue;
      this.announced.set(node, v.state);
      this.opts.announce({
        node,
        verdict: v,
        kind,
        message: livenessMessage(node, v, now, this.opts.bounds, this.reference()),
      });
    }
    if (only === undefined) {
      // Nodes gone from the config are forgotten without an announcement.
      for (const node of this.verdicts.keys()) {
        if (names.has(node)) continue;
        this.verdicts.delete(node);
        this.announced.delete(node);
      }
    }
  }

  start(): void {
    if (this.timer) return;
    // The check runs after the I/O waiting in the same loop turn: when this process was stalled
    // (a long publish, a starved CPU) the agents' calls that arrived meanwhile are recorded first,
    // instead of the timer firing ahead of them and calling every agent between two polls stale.
    this.timer = setInterval(() => setImmediate(() => this.check()), this.opts.checkMs ?? 1_000);
    this.timer.unref();
    // A node that calls again is announced back at once, not at the next check.
    this.unsubscribe = this.opts.contacts.onContact((node) => {
      if (this.announced.get(node) !== "alive" || this.verdicts.get(node)?.state !== "alive")
        this.check(node);
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
  }

  private reference(): ReferenceTimes {
    return { startedAt: this.startedAt, activeAt: this.opts.contacts.firstContact() };
  }

  private verdictAt(node: string, now: number): NodeLiveness {
    return livenessAt(
      this.verdicts.get(node),
      this.opts.contacts.lastSeen(node, now),
      now,
      this.reference(),
      this.opts.bounds,
    );
  }
}

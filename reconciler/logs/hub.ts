// Brings `berth logs` together on the reconciler: one watch asks every node involved for the app's
// output (a request on the node's channel), collects each node's history, merges it in time order
// and sends the newest lines; when following, it then passes new lines on through a short reorder
// window so lines of several nodes print in time order. A node that does not pick the request up,
// does not send its history in time, or falls silent while following is named in a notice and the
// watch goes on without it: nothing is left waiting forever, and nothing missing is hidden. When
// the watcher leaves, uploads of that watch are refused (the agents stop reading).
import { randomBytes } from "node:crypto";
import { mergeSorted, newest, ReorderWindow } from "../../core/logs/merge.js";
import type { LogBatch, LogLine, LogNotice } from "../../schema/index.js";
import type { NodeRequests } from "../channel/node-requests.js";

/** Where a watch's output goes (an SSE response). */
export interface LogSink {
  line(l: LogLine): void;
  notice(n: LogNotice): void;
  /** The history is complete (or given up on for `missing` nodes); live lines follow. */
  caughtUp(info: { lines: number; missing: string[] }): void;
  /** Nothing more comes. */
  end(info: { complete: boolean; missing: string[] }): void;
  /** Bytes written but not yet taken by the client. */
  backlog(): number;
  /** Resolves when the client took what was queued (or left). */
  drained(): Promise<void>;
}

export interface LogAsk {
  app: string;
  /** Nodes to ask, in the order ties are broken. */
  nodes: string[];
  lines: number;
  sinceMs: number | null;
  follow: boolean;
  grep: string | null;
}

export interface LogHubOptions {
  /** A node must fetch the request within this long (default 10 s). */
  pickupMs?: number;
  /** ...and send its history within this long after that (default 30 s). */
  historyMs?: number;
  /** A following node that sends nothing (not even its 15 s heartbeat) this long is given up (45 s). */
  silenceMs?: number;
  /** Live lines wait this long to be put in time order with other nodes' (default 150 ms). */
  reorderMs?: number;
  /** Last time each node's agent was seen (for notices). */
  lastSeen?: (node: string) => number | null;
  now?: () => number;
}

interface Item extends LogLine {
  ms: number;
}

type Phase = "waiting" | "history" | "live" | "done";

interface NodeState {
  phase: Phase;
  history: Item[];
  lastHeard: number;
  missing: boolean;
  timer: NodeJS.Timeout | null;
}

/** The client is this far behind: uploads wait for it to catch up... */
const slowClientBytes = 1024 * 1024;
/** ...and this far behind, the watch ends (it can be started again). */
const stuckClientBytes = 16 * 1024 * 1024;

class Watch {
  readonly nodes = new Map<string, NodeState>();
  historySent = false;
  ended = false;
  /** The watcher went away (as opposed to the watch completing). */
  left = false;
  readonly window: ReorderWindow<Item>;
  flushTimer: NodeJS.Timeout | null = null;
  silenceTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly ask: LogAsk,
    readonly sink: LogSink,
    reorderMs: number,
  ) {
    this.window = new ReorderWindow(reorderMs);
  }
}

export class LogHub {
  private readonly watches = new Map<string, Watch>();
  private readonly pickupMs: number;
  private readonly historyMs: number;
  private readonly silenceMs: number;
  private readonly reorderMs: number;
  private readonly now: () => number;

  constructor(
    private readonly requests: NodeRequests,
    private readonly opts: LogHubOptions = {},
  ) {
    this.pickupMs = opts.pickupMs ?? 10_000;
    this.historyMs = opts.historyMs ?? 30_000;
    this.silenceMs = opts.silenceMs ?? 45_000;
    this.reorderMs = opts.reorderMs ?? 150;
    this.now = opts.now ?? Date.now;
    requests.onTaken((node, ids) => {
      for (const id of ids) {
        const w = this.watches.get(id);
        const st = w?.nodes.get(node);
        if (!w || !st || st.phase !== "waiting") continue;
        st.phase = "history";
        this.arm(w, node, st, this.historyMs, `did not send its history within ${this.historyMs / 1000} s`);
      }
    });
  }

  /** Number of watches open (metrics, tests). */
  get open(): number {
    return this.watches.size;
  }

  /** Starts a watch; close() it when the watcher leaves. */
  watch(ask: LogAsk, sink: LogSink): { id: string; close(): void } {
    const id = `logs-${randomBytes(8).toString("hex")}`;
    const w = new Watch(id, ask, sink, this.reorderMs);
    this.watches.set(id, w);
    for (const node of ask.nodes) {
      const st: NodeState = {
        phase: "waiting",
        history: [],
        lastHeard: this.now(),
        missing: false,
        timer: null,
      };
      w.nodes.set(node, st);
      this.requests.push(node, {
        kind: "logs",
        id,
        app: ask.app,
        lines: ask.lines,
        since: ask.sinceMs === null ? null : new Date(ask.sinceMs).toISOString(),
        follow: ask.follow,
        grep: ask.grep,
      });
      this.arm(
        w,
        node,
        st,
        this.pickupMs,
        `did not pick up the log request within ${this.pickupMs / 1000} s`,
      );
    }
    if (ask.follow) {
      w.silenceTimer = setInterval(() => this.checkSilence(w), Math.min(5_000, this.silenceMs / 3));
      w.silenceTimer.unref();
    }
    if (ask.nodes.length === 0) this.maybeCaughtUp(w);
    return {
      id,
      close: () => {
        w.left = !w.ended;
        this.close(w);
      },
    };
  }

  /**
   * A batch from `node` for watch `id`: "gone" when nobody watches (the agent stops), else "ok"
   * once the watcher has room for more.
   */
  async accept(node: string, id: string, batch: LogBatch): Promise<"ok" | "gone"> {
    const w = this.watches.get(id);
    const st = w?.nodes.get(node);
    if (!w || !st || w.ended) return "gone";
    if (st.phase === "done") return "gone";
    st.lastHeard = this.now();
    for (const message of batch.notices ?? []) w.sink.notice({ level: "warning", node, message });
    const items = batch.entries.map((e): Item => ({ ...e, node, ms: Date.parse(e.time) }));
    if (st.phase === "waiting" || st.phase === "history") {
      st.history.push(...items);
      if (batch.historyDone || batch.done) {
        this.disarm(st);
        st.phase = batch.done || !w.ask.follow ? "done" : "live";
        this.maybeCaughtUp(w);
      } else if (st.phase === "waiting") {
        st.phase = "history";
      }
    } else {
      w.window.push(items, this.now());
      this.scheduleFlush(w);
      if (batch.done) {
        st.phase = "done";
        if (!batch.notices?.length)
          w.sink.notice({ level: "info", node, message: `node ${node} ended its stream` });
        this.maybeEnd(w);
      }
    }
    if (w.sink.backlog() > stuckClientBytes) {
      w.sink.notice({
        level: "warning",
        message: "the watcher reads more slowly than the app writes; stopping (start again to go on)",
      });
      this.finish(w);
      w.left = true;
      return "gone";
    }
    if (w.sink.backlog() > slowClientBytes) await w.sink.drained();
    return w.left ? "gone" : "ok";
  }

  private arm(w: Watch, node: string, st: NodeState, ms: number, what: string): void {
    this.disarm(st);
    st.timer = setTimeout(() => {
      st.timer = null;
      if (st.phase === "done" || st.phase === "live") return;
      this.requests.cancel(node, w.id);
      const seen = this.opts.lastSeen?.(node) ?? null;
      const ago =
        seen === null
          ? "never seen since the reconciler started"
          : `last seen ${Math.round((this.now() - seen) / 1000)} s ago`;
      w.sink.notice({
        level: "warning",
        node,
        message: `node ${node} ${what} (its agent was ${ago}); its lines are missing`,
      });
      st.phase = "done";
      st.missing = true;
      this.maybeCaughtUp(w);
      this.maybeEnd(w);
    }, ms);
    st.timer.unref();
  }

  private disarm(st: NodeState): void {
    if (st.timer) clearTimeout(st.timer);
    st.timer = null;
  }

  private missing(w: Watch): string[] {
    return [...w.nodes].filter(([, st]) => st.missing).map(([n]) => n);
  }

  /** Every node's history is in (or given up on): merge, send the newest lines, go live. */
  private maybeCaughtUp(w: Watch): void {
    if (w.historySent || w.ended) return;
    for (const st of w.nodes.values()) if (st.phase === "waiting" || st.phase === "history") return;
    w.historySent = true;
    const merged = newest(mergeSorted(w.ask.nodes.map((n) => w.nodes.get(n)?.history ?? [])), w.ask.lines);
    for (const st of w.nodes.values()) st.history = [];
    for (const item of merged) w.sink.line(plain(item));
    w.sink.caughtUp({ lines: merged.length, missing: this.missing(w) });
    if (!w.ask.follow) {
      this.finish(w);
      return;
    }
    this.scheduleFlush(w);
    this.maybeEnd(w);
  }

  private scheduleFlush(w: Watch): void {
    if (!w.historySent || w.flushTimer || w.ended) return;
    const due = w.window.nextDue();
    if (due === null) return;
    w.flushTimer = setTimeout(
      () => {
        w.flushTimer = null;
        for (const item of w.window.release(this.now())) w.sink.line(plain(item));
        this.scheduleFlush(w);
      },
      Math.max(0, due - this.now()),
    );
    w.flushTimer.unref();
  }

  private checkSilence(w: Watch): void {
    const now = this.now();
    for (const [node, st] of w.nodes) {
      if (st.phase !== "live" || now - st.lastHeard < this.silenceMs) continue;
      st.phase = "done";
      st.missing = true;
      w.sink.notice({
        level: "warning",
        node,
        message: `node ${node} sent nothing for ${Math.round(this.silenceMs / 1000)} s (its agent restarted or cannot reach the reconciler); its new lines are missing — run the command again to resume`,
      });
    }
    this.maybeEnd(w);
  }

  /** Following, and no node sends any more: end. */
  private maybeEnd(w: Watch): void {
    if (!w.historySent || w.ended) return;
    for (const st of w.nodes.values()) if (st.phase !== "done") return;
    this.finish(w);
  }

  private finish(w: Watch): void {
    if (w.ended) return;
    for (const item of w.window.release(this.now(), true)) w.sink.line(plain(item));
    const missing = this.missing(w);
    w.sink.end({ complete: missing.length === 0, missing });
    this.close(w);
  }

  private close(w: Watch): void {
    w.ended = true;
    this.watches.delete(w.id);
    if (w.flushTimer) clearTimeout(w.flushTimer);
    if (w.silenceTimer) clearInterval(w.silenceTimer);
    for (const [node, st] of w.nodes) {
      this.disarm(st);
      this.requests.cancel(node, w.id);
    }
  }
}

const plain = ({ ms: _ms, ...line }: Item): LogLine => line;

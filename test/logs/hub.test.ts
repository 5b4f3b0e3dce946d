// The reconciler's log hub with its real request queue and a recording sink: requests reach the
// nodes' queues, histories of several nodes are merged in time order and cut to -n, live lines go
// through the reorder window, a node that does not pick up or falls silent is named and the watch
// goes on, and a watcher that leaves makes every later upload "gone".
import { describe, expect, it } from "vitest";
import { NodeRequests } from "../../reconciler/channel/node-requests.js";
import { type LogAsk, LogHub, type LogSink } from "../../reconciler/logs/hub.js";
import type { LogEntry, LogLine, LogNotice } from "../../schema/index.js";
import { waitFor } from "../agent/helpers/wait.js";

interface Recorded {
  lines: LogLine[];
  notices: LogNotice[];
  caughtUp: { lines: number; missing: string[] } | null;
  end: { complete: boolean; missing: string[] } | null;
}
function recordingSink(): LogSink & { rec: Recorded } {
  const rec: Recorded = { lines: [], notices: [], caughtUp: null, end: null };
  return {
    rec,
    line: (l) => rec.lines.push(l),
    notice: (n) => rec.notices.push(n),
    caughtUp: (i) => {
      rec.caughtUp = i;
    },
    end: (i) => {
      rec.end = i;
    },
    backlog: () => 0,
    drained: async () => undefined,
  };
}
const at = (s: number) => new Date(Date.parse("2025-05-01T10:00:00Z") + s * 1000).toISOString();
const entry = (s: number, instance: string, line: string): LogEntry => ({
  time: at(s),
  instance,
  line,
  origin: "app",
});
const ask = (over: Partial<LogAsk> = {}): LogAsk => ({
  app: "web",
  nodes: ["a", "b"],
  lines: 100,
  sinceMs: null,
  follow: false,
  grep: null,
  ...over,
});

describe("LogHub", () => {
  it("asks each node, merges their histories in time order and keeps the newest lines", async () => {
    const q = new NodeRequests();
    const hub = new LogHub(q);
    const sink = recordingSink();
    const w = hub.watch(ask({ lines: 4, grep: "x", sinceMs: Date.parse(at(0)) }), sink);
    const [ra] = q.take("a");
    const [rb] = q.take("b");
    expect(ra).toEqual({
      kind: "logs",
      id: w.id,
      app: "web",
      lines: 4,
      since: at(0),
      follow: false,
      grep: "x",
    });
    expect(rb?.id).toBe(w.id);
    expect(
      await hub.accept("a", w.id, {
        entries: [entry(1, "berth-web-0-a", "a1"), entry(3, "berth-web-0-a", "a3")],
      }),
    ).toBe("ok");
    expect(sink.rec.lines).toEqual([]);
    await hub.accept("a", w.id, {
      entries: [entry(5, "berth-web-0-a", "a5")],
      historyDone: true,
      done: true,
    });
    expect(sink.rec.caughtUp).toBeNull();
    const last = await hub.accept("b", w.id, {
      entries: [
        entry(2, "berth-web-1-a", "b2"),
        entry(3, "berth-web-1-a", "b3"),
        entry(4, "berth-web-1-a", "b4"),
      ],
      historyDone: true,
      done: true,
    });
    expect(last).toBe("ok");
    // Equal times keep node order (a before b).
    expect(sink.rec.lines.map((l) => `${l.node}:${l.line}`)).toEqual(["a:a3", "b:b3", "b:b4", "a:a5"]);
    expect(sink.rec.caughtUp).toEqual({ lines: 4, missing: [] });
    expect(sink.rec.end).toEqual({ complete: true, missing: [] });
    expect(hub.open).toBe(0);
    expect(await hub.accept("a", w.id, { entries: [] })).toBe("gone");
  });

  it("names a node that does not pick the request up, withdraws it and answers without it", async () => {
    const q = new NodeRequests();
    const hub = new LogHub(q, { pickupMs: 50, lastSeen: () => null });
    const sink = recordingSink();
    const w = hub.watch(ask(), sink);
    q.take("a");
    await hub.accept("a", w.id, { entries: [entry(1, "i", "from a")], historyDone: true, done: true });
    await waitFor("the watch to end", () => sink.rec.end !== null);
    expect(sink.rec.lines.map((l) => l.line)).toEqual(["from a"]);
    expect(sink.rec.notices).toEqual([
      {
        level: "warning",
        node: "b",
        message:
          "node b did not pick up the log request within 0.05 s (its agent was never seen since the reconciler started); its lines are missing",
      },
    ]);
    expect(sink.rec.end).toEqual({ complete: false, missing: ["b"] });
    expect(q.pending("b")).toBe(0);
  });

  it("gives up on a node that picked up but sends no history in time", async () => {
    const q = new NodeRequests();
    const hub = new LogHub(q, { historyMs: 50 });
    const sink = recordingSink();
    hub.watch(ask({ nodes: ["a"] }), sink);
    q.take("a");
    await waitFor("the watch to end", () => sink.rec.end !== null);
    expect(sink.rec.notices[0]?.message).toMatch(/node a did not send its history within 0.05 s/);
    expect(sink.rec.end).toEqual({ complete: false, missing: ["a"] });
  });

  it("passes agents' notices on, under their node", async () => {
    const q = new NodeRequests();
    const hub = new LogHub(q);
    const sink = recordingSink();
    const w = hub.watch(ask({ nodes: ["a"] }), sink);
    q.take("a");
    await hub.accept("a", w.id, { entries: [], historyDone: true, done: true, notices: ["cannot read x"] });
    expect(sink.rec.notices).toEqual([{ level: "warning", node: "a", message: "cannot read x" }]);
  });

  it("following: history first, then live lines of both nodes in time order through the window", async () => {
    const q = new NodeRequests();
    const hub = new LogHub(q, { reorderMs: 40 });
    const sink = recordingSink();
    const w = hub.watch(ask({ follow: true, lines: 1 }), sink);
    q.take("a");
    q.take("b");
    await hub.accept("a", w.id, { entries: [entry(1, "ia", "old a")], historyDone: true });
    // Live lines of a before b's history is in: held until the history is out.
    await hub.accept("a", w.id, { entries: [entry(10, "ia", "live a10")] });
    await hub.accept("b", w.id, { entries: [entry(2, "ib", "old b")], historyDone: true });
    expect(sink.rec.lines.map((l) => l.line)).toEqual(["old b"]);
    expect(sink.rec.caughtUp).toEqual({ lines: 1, missing: [] });
    await hub.accept("b", w.id, { entries: [entry(9, "ib", "live b9")] });
    await waitFor("live lines", () => sink.rec.lines.length === 3);
    expect(sink.rec.lines.map((l) => l.line)).toEqual(["old b", "live b9", "live a10"]);
    expect(sink.rec.end).toBeNull();
    // Both nodes end their streams: the watch ends.
    await hub.accept("a", w.id, { entries: [], done: true });
    await hub.accept("b", w.id, { entries: [entry(11, "ib", "last b")], done: true });
    await waitFor("the end", () => sink.rec.end !== null);
    expect(sink.rec.lines.at(-1)?.line).toBe("last b");
    expect(sink.rec.end).toEqual({ complete: true, missing: [] });
  });

  it("following: a node that falls silent is named; the others go on", async () => {
    const q = new NodeRequests();
    const hub = new LogHub(q, { silenceMs: 90, reorderMs: 0 });
    const sink = recordingSink();
    const w = hub.watch(ask({ follow: true }), sink);
    q.take("a");
    q.take("b");
    await hub.accept("a", w.id, { entries: [], historyDone: true });
    await hub.accept("b", w.id, { entries: [], historyDone: true });
    const beat = setInterval(() => void hub.accept("a", w.id, { entries: [] }), 20);
    try {
      await waitFor("b given up", () => sink.rec.notices.some((n) => n.node === "b"));
      expect(sink.rec.notices.find((n) => n.node === "b")?.message).toMatch(
        /node b sent nothing for 0 s .* run the command again to resume/,
      );
      expect(sink.rec.end).toBeNull();
      expect(await hub.accept("a", w.id, { entries: [entry(20, "ia", "still here")] })).toBe("ok");
      await waitFor("a's line", () => sink.rec.lines.some((l) => l.line === "still here"));
    } finally {
      clearInterval(beat);
    }
    w.close();
  });

  it("a watcher that leaves: queued requests are withdrawn and uploads are gone", async () => {
    const q = new NodeRequests();
    const hub = new LogHub(q);
    const w = hub.watch(ask({ follow: true }), recordingSink());
    q.take("a");
    w.close();
    expect(q.pending("b")).toBe(0);
    expect(await hub.accept("a", w.id, { entries: [entry(1, "i", "x")], historyDone: true })).toBe("gone");
    expect(await hub.accept("a", "logs-unknown", { entries: [] })).toBe("gone");
    expect(hub.open).toBe(0);
  });
});

describe("NodeRequests", () => {
  it("wakes a waiting poll, announces once, hands out once", async () => {
    const q = new NodeRequests();
    const ctl = new AbortController();
    const woke = q.waitFor("a", ctl.signal);
    const req = {
      kind: "logs" as const,
      id: "logs-1234",
      app: "web",
      lines: 1,
      since: null,
      follow: false,
      grep: null,
    };
    q.push("a", req);
    await woke;
    expect(q.fresh("a")).toBe(true);
    expect(q.announce("a")).toBe(1);
    expect(q.fresh("a")).toBe(false);
    const taken: string[][] = [];
    q.onTaken((_n, ids) => taken.push(ids));
    expect(q.take("a")).toEqual([req]);
    expect(q.take("a")).toEqual([]);
    expect(taken).toEqual([["logs-1234"]]);
    expect(q.cancel("a", "logs-1234")).toBe(false);
  });
  it("a wait ends on abort", async () => {
    const q = new NodeRequests();
    const ctl = new AbortController();
    const w = q.waitFor("a", ctl.signal);
    ctl.abort();
    await w;
  });
});

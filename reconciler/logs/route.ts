// GET /v1/apps/{app}/logs: an app's output on every node as Server-Sent Events, for `berth logs`
// and the operations page. Query: node, lines (default 100, at most 10,000), since (a duration
// such as 10m or an RFC 3339 time), follow (1/true), grep (a linear-time regular expression).
// Events: `line` (LogLine), `notice` (LogNotice), `caught-up` ({lines, missing}) when the history
// is out, `end` ({complete, missing}) when nothing more comes. Behind the admin token like the
// rest of the read API.
import type { IncomingMessage, ServerResponse } from "node:http";
import { compileGrep } from "../../core/logs/grep.js";
import { parseSince } from "../../core/logs/since.js";
import type { ApiContext, LogFields } from "../http/context.js";
import { admitReader } from "../http/read-routes.js";
import { sendError, startEventStream } from "../http/respond.js";
import type { LogAsk, LogSink } from "./hub.js";

const nodeName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const maxLogLines = 10_000;
export const defaultLogLines = 100;

/** The ask a query makes, or the reason it is wrong. */
export function readLogQuery(
  app: string,
  query: URLSearchParams,
  now: number,
): { ok: true; ask: Omit<LogAsk, "nodes">; node: string | null } | { ok: false; error: string } {
  if (!nodeName.test(app)) return { ok: false, error: `"${app}" is not an app name (names are DNS labels)` };
  const node = query.get("node") || null;
  if (node !== null && !nodeName.test(node)) return { ok: false, error: `node "${node}" is not a node name` };
  const rawLines = query.get("lines");
  const lines = rawLines === null || rawLines === "" ? defaultLogLines : Number(rawLines);
  if (!Number.isInteger(lines) || lines < 0 || lines > maxLogLines) {
    return { ok: false, error: `lines must be a whole number from 0 to ${maxLogLines}, got "${rawLines}"` };
  }
  let sinceMs: number | null = null;
  const since = query.get("since");
  if (since) {
    const r = parseSince(since, now);
    if (!r.ok) return { ok: false, error: r.error };
    sinceMs = r.ms;
  }
  const f = query.get("follow");
  const follow = f === "1" || f === "true";
  if (f !== null && !follow && f !== "0" && f !== "false") {
    return { ok: false, error: `follow must be 1 or 0, got "${f}"` };
  }
  const grep = query.get("grep") || null;
  if (grep !== null) {
    const g = compileGrep(grep);
    if (!g.ok) return { ok: false, error: g.error };
  }
  return { ok: true, ask: { app, lines, sinceMs, follow, grep }, node };
}

/** Nodes whose published document runs the app, or whose last report shows it. */
export function nodesOfApp(ctx: ApiContext, app: string): string[] {
  const out = new Set<string>();
  for (const n of ctx.backend.nodes()) {
    if (ctx.backend.desired(n.node)?.workloads.some((w) => w.app === app)) out.add(n.node);
    else if (n.status?.workloads.some((w) => w.app === app)) out.add(n.node);
  }
  return [...out].sort();
}

const sse = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function handleAppLogs(
  ctx: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  app: string,
  query: URLSearchParams,
  log: LogFields,
): void {
  if (!admitReader(ctx, req, res, log)) return;
  log.app = app;
  const q = readLogQuery(app, query, Date.now());
  if (!q.ok) {
    sendError(res, 400, q.error);
    return;
  }
  let nodes: string[];
  if (q.node !== null) {
    if (!ctx.backend.nodes().some((n) => n.node === q.node)) {
      sendError(res, 404, `node ${q.node} is not in the published config`);
      return;
    }
    nodes = [q.node];
  } else {
    nodes = nodesOfApp(ctx, app);
    if (nodes.length === 0) {
      sendError(
        res,
        404,
        `${app} runs on no node in generation ${ctx.backend.published().generation} and no node reports it; check the name (berth status lists the apps)`,
      );
      return;
    }
  }
  if (!startEventStream(req, res)) return;
  // No automatic reconnect: a reconnect would start the history over (EventSource clients reopen
  // on purpose, with `since`).
  res.write(`retry: 86400000\n: nodes ${nodes.join(",")}\n\n`);
  const sink: LogSink = {
    line: (l) => res.write(sse("line", l)),
    notice: (n) => res.write(sse("notice", n)),
    caughtUp: (info) => res.write(sse("caught-up", info)),
    end: (info) => {
      res.end(sse("end", info));
    },
    backlog: () => res.writableLength,
    drained: () =>
      new Promise((resolve) => {
        if (res.writableLength === 0 || res.destroyed) return resolve();
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.once("drain", done);
        res.once("close", done);
      }),
  };
  const watch = ctx.logs.watch({ ...q.ask, nodes }, sink);
  log.result = q.ask.follow ? "follow" : "history";
  const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), ctx.limits.sseHeartbeatMs);
  heartbeat.unref();
  const stop = () => {
    clearInterval(heartbeat);
    ctx.closers.delete(stop);
    watch.close();
    if (!res.writableEnded) res.end();
  };
  ctx.closers.add(stop);
  res.once("close", stop);
}

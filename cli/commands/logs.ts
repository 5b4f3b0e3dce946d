// `berth logs APP [--node N] [-n LINES] [--since DURATION] [-f] [--grep RE]`: the output of an
// app's instances on every node, merged in time order, each line tagged with its node and instance
// (GET /v1/apps/{app}/logs, Server-Sent Events). Notices (a node that does not answer, a source
// that ended) go to stderr; with --json every event is one JSON object per line on stdout. Exits 1
// when some node's lines are missing, so a partial answer is never mistaken for the whole.
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Command } from "commander";
import { createParser } from "eventsource-parser";
import { sanitiseLine } from "../../agent/core/log-line.js";
import { compileGrep } from "../../core/logs/grep.js";
import { parseSince } from "../../core/logs/since.js";
import type { LogLine, LogNotice } from "../../schema/index.js";
import { painter, readGlobals, reconcilerUrl, type Style } from "../context.js";
import { FailedError, UserError } from "../errors.js";

interface LogsOptions {
  node?: string;
  lines?: string;
  since?: string;
  follow?: boolean;
  grep?: string;
  url: string;
  apiTokenFile?: string;
}

export function register(program: Command): void {
  program
    .command("logs")
    .argument("<app>", "the app whose output to show")
    .description("an app's output on every node, merged in time order and tagged with node and instance")
    .option("--node <node>", "only this node")
    .option("-n, --lines <n>", "lines of history (default 100, at most 10000; 0 with -f: only new lines)")
    .option(
      "--since <when>",
      "only lines since a duration ago (90s, 10m, 2h, 1d) or a time (2025-05-01T10:00:00Z)",
    )
    .option("-f, --follow", "keep printing new lines as the app writes them")
    .option("--grep <re>", "only lines matching this regular expression (no backreferences or lookaround)")
    .option("--url <url>", "reconciler URL", "http://127.0.0.1:7070")
    .option("--api-token-file <file>", "admin token for the reconciler's read API, if it requires one")
    .action(async (app: string, opts: LogsOptions, cmd: Command) => {
      const g = readGlobals(cmd);
      const url = logsUrl(app, opts, Date.now());
      const view = g.json ? jsonView() : textView(painter(g.color));
      const end = await streamLogs(url, opts, view);
      if (!end.complete) {
        throw new FailedError(
          `berth logs: incomplete — the lines of ${end.missing.join(", ")} are missing (see the notices above)`,
        );
      }
    });
}

/** The request URL for the options, or a UserError saying which option is wrong. */
export function logsUrl(app: string, opts: LogsOptions, now: number): URL {
  const url = reconcilerUrl(`/v1/apps/${encodeURIComponent(app)}/logs`, opts.url);
  if (opts.node) url.searchParams.set("node", opts.node);
  if (opts.lines !== undefined) {
    const n = Number(opts.lines);
    if (!Number.isInteger(n) || n < 0 || n > 10_000)
      throw new UserError(`-n ${opts.lines}: give a whole number of lines from 0 to 10000`);
    url.searchParams.set("lines", String(n));
  }
  if (opts.since !== undefined) {
    const s = parseSince(opts.since, now);
    if (!s.ok) throw new UserError(`--since: ${s.error}`);
    url.searchParams.set("since", new Date(s.ms).toISOString());
  }
  if (opts.follow) url.searchParams.set("follow", "1");
  if (opts.grep !== undefined) {
    const c = compileGrep(opts.grep);
    if (!c.ok) throw new UserError(`--grep: ${c.error}`);
    url.searchParams.set("grep", opts.grep);
  }
  return url;
}

export interface LogsView {
  line(l: LogLine): void;
  notice(n: LogNotice): void;
  caughtUp(info: unknown): void;
  end(info: unknown): void;
}

function jsonView(): LogsView {
  const out = (type: string, data: unknown) =>
    process.stdout.write(`${JSON.stringify({ type, ...(data as object) })}\n`);
  return {
    line: (l) => out("line", l),
    notice: (n) => out("notice", n),
    caughtUp: (i) => out("caught-up", i),
    end: (i) => out("end", i),
  };
}

/**
 * `2025-05-01T10:00:00.123Z node-a/web-0-a  text`; berth's own lines in yellow with a [berth] tag.
 * Agents send sanitised lines; they go through the same sanitiser again before a terminal sees
 * them (an agent of another version, or one that misbehaves, must not reach the operator's terminal
 * with escape sequences). Clean text comes out unchanged.
 */
export function textView(
  paint: (s: Style, t: string) => string,
  write: { out(s: string): void; err(s: string): void } = {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  },
): LogsView {
  let width = 0;
  return {
    line(l) {
      const tag = sanitiseLine(`${l.node}/${l.instance.replace(/^berth-/, "")}`, { maxBytes: 256 });
      width = Math.max(width, tag.length);
      const line = sanitiseLine(l.line);
      const text = l.origin === "berth" ? paint("yellow", `[berth] ${line}`) : line;
      write.out(
        `${paint("dim", sanitiseLine(l.time, { maxBytes: 64 }))} ${paint("cyan", tag.padEnd(width))}  ${text}\n`,
      );
    },
    notice(n) {
      write.err(paint(n.level === "warning" ? "yellow" : "dim", `berth logs: ${sanitiseLine(n.message)}\n`));
    },
    caughtUp() {},
    end() {},
  };
}

/** Streams one watch to `view`; resolves with its end ({complete, missing}). */
export async function streamLogs(
  url: URL,
  opts: Pick<LogsOptions, "apiTokenFile">,
  view: LogsView,
): Promise<{ complete: boolean; missing: string[] }> {
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (opts.apiTokenFile) headers.authorization = `Bearer ${readToken(opts.apiTokenFile)}`;
  let res: IncomingMessage;
  try {
    res = await get(url, headers);
  } catch (err) {
    throw new UserError(
      `cannot reach the reconciler at ${url.origin}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      "is `berth serve` (or `berth up`) running there? Point --url at it",
    );
  }
  if (res.statusCode !== 200) {
    let body = "";
    for await (const chunk of res) body += chunk;
    let message = body.slice(0, 500);
    try {
      message = (JSON.parse(body) as { error?: string }).error ?? message;
    } catch {
      // not JSON: shown as it is
    }
    throw new UserError(
      `${message}`,
      res.statusCode === 401 ? "pass the admin token with --api-token-file" : undefined,
    );
  }
  let end: { complete: boolean; missing: string[] } | null = null;
  const parser = createParser({
    onEvent(e) {
      const data = JSON.parse(e.data) as unknown;
      if (e.event === "line") view.line(data as LogLine);
      else if (e.event === "notice") view.notice(data as LogNotice);
      else if (e.event === "caught-up") view.caughtUp(data);
      else if (e.event === "end") {
        end = data as { complete: boolean; missing: string[] };
        view.end(data);
      }
    },
  });
  res.setEncoding("utf8");
  try {
    for await (const chunk of res) parser.feed(chunk as string);
  } catch (err) {
    throw new FailedError(`berth logs: the connection to ${url.origin} broke: ${(err as Error).message}`);
  }
  if (!end)
    throw new FailedError(`berth logs: ${url.origin} ended the stream early (did the reconciler stop?)`);
  return end;
}

/**
 * GET with node:http(s): `berth logs` is a command people wait on, and loading undici alone takes
 * longer than the whole answer (measured 480 ms on a busy 2-core VM, against 43 ms for node:http).
 */
async function get(url: URL, headers: Record<string, string>): Promise<IncomingMessage> {
  const { request } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, resolve);
    req.once("error", reject);
    req.end();
  });
}

function readToken(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new UserError(
      `cannot read --api-token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

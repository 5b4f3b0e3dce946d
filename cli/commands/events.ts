// `berth events [--follow] [--json] [--url URL] [--since ID]`: the reconciler's event stream (SSE).
// It prints the events the reconciler still holds (or those after --since); with --follow it then
// keeps streaming, reconnects after a disconnect and resumes from the last event id
// (Last-Event-ID). The server sends an explicit `gap` event when events were missed (the buffer
// moved on, or the reconciler restarted), which is printed as a notice.

import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { request } from "undici";
import { oneLine } from "../../core/escape.js";
import { painter, readGlobals, type Style } from "../context.js";
import { UserError } from "../errors.js";

interface EventsOptions {
  follow?: boolean;
  url: string;
  apiTokenFile?: string;
  since?: string;
}

export function register(program: Command): void {
  program
    .command("events")
    .description(
      "print the events the reconciler still holds (detected, planned, published, rejected, node-reported, workload-failed, …)",
    )
    .option(
      "--follow",
      "after those, keep printing new events; reconnect and resume after a disconnect (a notice says when events were missed)",
    )
    .option("--url <url>", "reconciler URL", "http://127.0.0.1:7070")
    .option(
      "--since <id>",
      "only events after this event id (as printed with --json); default: every event the reconciler still holds",
    )
    .option("--api-token-file <file>", "admin token for the reconciler's read API, if it requires one")
    .action(async (opts: EventsOptions, cmd: Command) => {
      const g = readGlobals(cmd);
      const paint = painter(g.color);
      const print = (e: EventSourceMessage): void => {
        if (g.json) {
          process.stdout.write(`${JSON.stringify({ id: e.id, type: e.event, data: safeJson(e.data) })}\n`);
          return;
        }
        if (e.event === "gap") {
          const gap = safeJson(e.data) as { message?: unknown };
          const why = typeof gap.message === "string" ? gap.message : e.data;
          process.stdout.write(paint("yellow", `-- events were missed: ${why}\n`));
          return;
        }
        const data = safeJson(e.data) as Record<string, unknown>;
        process.stdout.write(`${eventLine(e.event ?? "message", data, paint)}\n`);
      };
      await streamEvents(opts, print);
    });
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** One event as a line of text: time, type, then key=value pairs (user text escaped). */
export function eventLine(
  type: string,
  data: { time?: unknown } & Record<string, unknown>,
  paint: (style: Style, text: string) => string,
): string {
  const time = typeof data.time === "string" ? data.time : new Date().toISOString();
  return `${paint("dim", oneLine(time))} ${paint("cyan", oneLine(type).padEnd(16))} ${summary(data)}`;
}

function summary(data: Record<string, unknown>): string {
  const inner = (data.data ?? data) as Record<string, unknown>;
  return Object.entries(inner)
    .filter(([k]) => k !== "time")
    .map(([k, v]) => oneLine(`${k}=${typeof v === "string" ? v : JSON.stringify(v)}`))
    .join(" ");
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(
      `cannot read --api-token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const token = text.trim();
  if (!token) throw new UserError(`--api-token-file ${file} is empty`);
  return token;
}

export async function streamEvents(
  opts: EventsOptions,
  onEvent: (e: EventSourceMessage) => void,
): Promise<void> {
  let lastId = opts.since;
  let delay = 500;
  let endpoint: URL;
  try {
    endpoint = new URL("/v1/events", opts.url);
  } catch {
    throw new UserError(`--url ${JSON.stringify(opts.url)} is not a URL`, "e.g. --url http://127.0.0.1:7070");
  }
  const token = opts.apiTokenFile ? readToken(opts.apiTokenFile) : undefined;
  if (!opts.follow) endpoint.searchParams.set("follow", "0");
  for (;;) {
    // Without a cursor yet, ask for the backlog first (what --follow promises to print).
    if (opts.follow) {
      if (lastId === undefined) endpoint.searchParams.set("backlog", "1");
      else endpoint.searchParams.delete("backlog");
    }
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (lastId !== undefined) headers["last-event-id"] = lastId;
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      const res = await request(endpoint, { headers, headersTimeout: 10_000, bodyTimeout: 0 });
      if (res.statusCode !== 200) {
        const body = await res.body.text();
        throw new UserError(`GET ${endpoint} answered ${res.statusCode}: ${body.slice(0, 300)}`);
      }
      delay = 500;
      const parser = createParser({
        onEvent: (e) => {
          if (e.id) lastId = e.id;
          onEvent(e);
        },
      });
      for await (const chunk of res.body) parser.feed(Buffer.from(chunk).toString("utf8"));
      if (!opts.follow) return;
    } catch (err) {
      if (err instanceof UserError) throw err;
      if (!opts.follow) {
        throw new UserError(
          `cannot reach the reconciler at ${endpoint}: ${(err as Error).message}`,
          "is `berth serve` running?",
        );
      }
      process.stderr.write(`events: disconnected (${(err as Error).message}); reconnecting in ${delay} ms\n`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

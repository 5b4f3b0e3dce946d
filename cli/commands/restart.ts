// `berth restart APP [--node N]`: a rolling, start-first, health-gated restart of an app's
// instances without a config change (POST /v1/apps/{app}/restart). Refused with the reason when
// the app is not running or a deploy of it is under way. Then follows the restart's events until
// it ends and exits 0 only when it succeeded (1 when it failed or was dropped by a new generation);
// --no-wait returns once it was accepted. --json prints the answer and each event as JSON lines.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { createParser } from "eventsource-parser";
import { request } from "undici";
import type { RestartAccepted } from "../../schema/index.js";
import { painter, readGlobals, reconcilerUrl } from "../context.js";
import { FailedError, UserError } from "../errors.js";

interface RestartOptions {
  node?: string;
  wait: boolean;
  url: string;
  apiTokenFile?: string;
}

interface RestartEvent {
  type: string;
  data: {
    restart?: string;
    node?: string;
    state?: string;
    outcome?: string;
    message?: string;
    workload?: string;
  };
}

export function register(program: Command): void {
  program
    .command("restart")
    .argument("<app>", "the app to restart")
    .description("restart an app's instances one at a time, each new one healthy before the old one stops")
    .option("--node <node>", "only on this node")
    .option("--no-wait", "return once the restart is accepted (follow it with berth events --follow)")
    .option("--url <url>", "reconciler URL", "http://127.0.0.1:7070")
    .option("--api-token-file <file>", "admin token for the reconciler's API, if it requires one")
    .action(async (app: string, opts: RestartOptions, cmd: Command) => {
      const g = readGlobals(cmd);
      const paint = painter(g.color);
      const auth = authHeader(opts.apiTokenFile);
      const accepted = await ask(app, opts, auth);
      if (g.json) process.stdout.write(`${JSON.stringify({ type: "accepted", ...accepted })}\n`);
      else process.stdout.write(`${accepted.message} (${accepted.restart})\n`);
      if (!opts.wait) return;
      const end = await follow(opts.url, accepted, auth, (e) => {
        if (g.json) {
          process.stdout.write(`${JSON.stringify(e)}\n`);
          return;
        }
        const d = e.data;
        if (e.type === "restart-progress") {
          const what = d.state === "running" ? (d.workload ? `${d.workload}: ` : "") : `${d.state}: `;
          process.stdout.write(`${paint("cyan", d.node ?? "")}  ${what}${d.message ?? ""}\n`);
        }
      });
      const line = `restart ${end.outcome}: ${end.message}`;
      if (end.outcome !== "succeeded") throw new FailedError(g.json ? "" : paint("red", line));
      if (!g.json) process.stdout.write(`${paint("green", line)}\n`);
    });
}

function authHeader(file: string | undefined): Record<string, string> {
  if (!file) return {};
  try {
    return { authorization: `Bearer ${readFileSync(file, "utf8").trim()}` };
  } catch (err) {
    throw new UserError(
      `cannot read --api-token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

async function ask(
  app: string,
  opts: RestartOptions,
  auth: Record<string, string>,
): Promise<RestartAccepted> {
  const url = reconcilerUrl(`/v1/apps/${encodeURIComponent(app)}/restart`, opts.url);
  if (opts.node) url.searchParams.set("node", opts.node);
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, { method: "POST", headers: { ...auth }, headersTimeout: 30_000 });
  } catch (err) {
    throw new UserError(
      `cannot reach the reconciler at ${url.origin}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      "is `berth serve` (or `berth up`) running there? Point --url at it",
    );
  }
  const body = await res.body.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = { error: body.slice(0, 500) };
  }
  if (res.statusCode === 202) return parsed as RestartAccepted;
  const message = (parsed as { error?: string }).error ?? `HTTP ${res.statusCode}`;
  throw new UserError(
    `cannot restart ${app}: ${message}`,
    res.statusCode === 401 ? "pass the admin token with --api-token-file" : undefined,
  );
}

/** Follows the event stream from the restart's first event until its restart-finished. */
async function follow(
  base: string,
  accepted: RestartAccepted,
  auth: Record<string, string>,
  onEvent: (e: RestartEvent) => void,
): Promise<{ outcome: string; message: string }> {
  const url = reconcilerUrl("/v1/events", base);
  let lastId = accepted.eventId;
  for (let attempt = 0; ; attempt++) {
    let end: { outcome: string; message: string } | null = null;
    try {
      const res = await request(url, {
        headers: { accept: "text/event-stream", "last-event-id": lastId, ...auth },
        headersTimeout: 30_000,
        bodyTimeout: 0,
      });
      if (res.statusCode !== 200)
        throw new Error(`HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`);
      const parser = createParser({
        onEvent(m) {
          if (m.id) lastId = m.id;
          if (m.event === "gap") {
            process.stderr.write(
              "berth restart: some events were missed (the reconciler restarted?); its outcome may be unknown\n",
            );
            return;
          }
          if (!m.event?.startsWith("restart-")) return;
          const e = JSON.parse(m.data) as { type: string; data: RestartEvent["data"] };
          if (e.data.restart !== accepted.restart) return;
          onEvent({ type: e.type, data: e.data });
          if (e.type === "restart-finished")
            end = { outcome: e.data.outcome ?? "unknown", message: e.data.message ?? "" };
        },
      });
      for await (const chunk of res.body) {
        parser.feed(Buffer.from(chunk).toString("utf8"));
        if (end) {
          res.body.destroy();
          return end;
        }
      }
    } catch (err) {
      if (end) return end;
      if (attempt >= 5) {
        throw new FailedError(
          `berth restart: lost the reconciler's event stream (${(err as Error).message}); the restart goes on — see berth events --follow`,
        );
      }
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

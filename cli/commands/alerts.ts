// `berth alerts [--json] [--url URL]`: the alerts berth itself has open (GET /v1/alerts on the
// reconciler, behind the admin token like /v1/nodes). Exit code 0 whether or not alerts are open:
// this lists, it does not judge.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { request } from "undici";
import type { AlertsView } from "../../reconciler/alerts/service.js";
import { renderAlerts } from "../alerts-view.js";
import { painter, readGlobals } from "../context.js";
import { UserError } from "../errors.js";

interface AlertsOptions {
  url: string;
  apiTokenFile?: string;
}

export function register(program: Command): void {
  program
    .command("alerts")
    .description("list the alerts berth has open (node lost, deploy failed, crash loop, invalid commit, …)")
    .option("--url <url>", "reconciler URL", "http://127.0.0.1:7070")
    .option("--api-token-file <file>", "admin token for the reconciler's read API, if it requires one")
    .action(async (opts: AlertsOptions, cmd: Command) => {
      const g = readGlobals(cmd);
      const view = await fetchAlerts(opts);
      if (g.json) process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
      else process.stdout.write(renderAlerts(view, painter(g.color)));
    });
}

async function fetchAlerts(opts: AlertsOptions): Promise<AlertsView> {
  let endpoint: URL;
  try {
    endpoint = new URL("/v1/alerts", opts.url);
  } catch {
    throw new UserError(`--url ${JSON.stringify(opts.url)} is not a URL`, "e.g. --url http://127.0.0.1:7070");
  }
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.apiTokenFile) {
    let token: string;
    try {
      token = readFileSync(opts.apiTokenFile, "utf8").trim();
    } catch (err) {
      throw new UserError(
        `cannot read --api-token-file ${opts.apiTokenFile}: ${(err as NodeJS.ErrnoException).code}`,
      );
    }
    headers.authorization = `Bearer ${token}`;
  }
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(endpoint, { headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
  } catch (err) {
    throw new UserError(
      `cannot reach the reconciler at ${opts.url}: ${(err as Error).message}`,
      "is `berth serve` running there? (--url)",
    );
  }
  const body = await res.body.text();
  if (res.statusCode === 401) {
    throw new UserError(
      `the reconciler at ${opts.url} requires its admin token`,
      "pass --api-token-file <the file given to berth serve --api-token-file>",
    );
  }
  if (res.statusCode !== 200)
    throw new UserError(`GET ${endpoint} answered ${res.statusCode}: ${body.slice(0, 300)}`);
  return JSON.parse(body) as AlertsView;
}

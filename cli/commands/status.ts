// `berth status [--node N] [--app A] [--watch] [--json] [--url URL] [--fail-on-stale]`: what runs
// against what should run. Reads the status and desired branches of the repo (no reconciler
// needed; liveness as last committed); with --url everything comes from the live API, so it works
// from anywhere without the config repo. --fail-on-stale exits 3 when a node is stale or lost.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { request } from "undici";
import { type Handoff, pendingNote } from "../../core/handoff/index.js";
import {
  anyNotAlive,
  type DesiredView,
  type LivenessFact,
  type PublishedSummary,
  type StatusSummary,
  summarise,
} from "../../core/status/summary.js";
import type { NodeOverview } from "../../reconciler/http/read-routes.js";
import { findGitdir, loadWorktree } from "../../reconciler/repo/load.js";
import { LIVENESS_DIR, parseLivenessRecord } from "../../reconciler/store/status-layout.js";
import type { DesiredState, NodeStatus } from "../../schema/index.js";
import { branchTip, readJsonFile, readJsonFolder } from "../branch-files.js";
import { painter, readGlobals } from "../context.js";
import { exitCodes, UserError } from "../errors.js";
import { git, gitOk } from "../git-cli.js";
import { renderStatus } from "../status-view.js";

interface StatusOptions {
  node?: string;
  app?: string;
  watch?: boolean;
  url?: string;
  apiTokenFile?: string;
  interval?: string;
  failOnStale?: boolean;
}

export function register(program: Command): void {
  program
    .command("status")
    .description(
      "per node: applied commit, in sync, last seen; per app: healthy replicas and current operation",
    )
    .option("--node <name>", "only this node")
    .option("--app <name>", "only this app")
    .option("--watch", "refresh until interrupted")
    .option("--interval <seconds>", "refresh interval with --watch", "2")
    .option("--url <url>", "live statuses from a running reconciler (e.g. http://127.0.0.1:7070)")
    .option("--api-token-file <file>", "admin token for the reconciler's read API, if it requires one")
    .option(
      "--fail-on-stale",
      `exit ${exitCodes.notAlive} when a node shown is stale or lost (for cron and CI)`,
    )
    .action(async (opts: StatusOptions, cmd: Command) => {
      const g = readGlobals(cmd);
      const paint = painter(g.color);
      if (opts.watch && opts.failOnStale) {
        throw new UserError(
          "--fail-on-stale cannot be used with --watch",
          "run berth status --fail-on-stale from cron instead",
        );
      }
      // --watch --json is a stream: one JSON object per line (NDJSON), errors as {"error": …} lines.
      const render = (summary: StatusSummary): string =>
        g.json
          ? `${JSON.stringify(summary, null, opts.watch ? undefined : 2)}\n`
          : renderStatus(summary, paint, Date.now());
      const once = async (): Promise<string> => render(await collect(g.repo, opts));
      const every = intervalMs(opts.interval);
      if (!opts.watch) {
        const summary = await collect(g.repo, opts);
        process.stdout.write(render(summary));
        if (opts.failOnStale && anyNotAlive(summary)) process.exitCode = exitCodes.notAlive;
        return;
      }
      for (;;) {
        const text = await once().catch((err: Error) =>
          g.json
            ? `${JSON.stringify({ error: { kind: "user", message: err.message } })}\n`
            : `error: ${err.message}\n`,
        );
        if (process.stdout.isTTY && !g.json) process.stdout.write("\x1b[2J\x1b[H");
        process.stdout.write(text);
        await new Promise((r) => setTimeout(r, every));
      }
    });
}

/** --interval in ms: a number of seconds above 0 (at most a day). */
function intervalMs(value: string | undefined): number {
  const n = Number(value ?? "2");
  if (value?.trim() === "" || !Number.isFinite(n) || n <= 0 || n > 86_400) {
    throw new UserError(`--interval ${value} must be a number of seconds above 0`, "e.g. --interval 2");
  }
  return Math.max(100, Math.round(n * 1000));
}

export async function collect(repo: string, opts: StatusOptions): Promise<StatusSummary> {
  const filter: { node?: string; app?: string } = {};
  if (opts.node) filter.node = opts.node;
  if (opts.app) filter.app = opts.app;
  if (opts.url) {
    // Everything from the reconciler: this works from anywhere, with no config repo at hand.
    const live = await fetchLive(opts.url, opts.apiTokenFile);
    const desired = new Map<string, DesiredView>();
    const statuses = new Map<string, NodeStatus>();
    const lastSeen = new Map<string, number | null>();
    const liveness = new Map<string, LivenessFact>();
    for (const n of live.nodes) {
      if (n.desired) desired.set(n.node, n.desired);
      if (n.status) statuses.set(n.node, n.status);
      lastSeen.set(n.node, n.lastSeen === null ? null : Date.parse(n.lastSeen));
      if (n.liveness && n.livenessSince) {
        liveness.set(n.node, {
          state: n.liveness,
          since: Date.parse(n.livenessSince),
          lastSeen: n.lastSeen === null ? null : Date.parse(n.lastSeen),
          ...(n.livenessMessage ? { message: n.livenessMessage } : {}),
        });
      }
    }
    return summarise(
      {
        desired,
        statuses,
        lastSeen,
        liveness,
        livenessSource: "live",
        published: live.health ? { ...live.published, health: live.health } : live.published,
      },
      filter,
    );
  }
  // Without --url everything comes from the repo's branches: outside a git repository there is
  // nothing to show, and "nothing published" would be a lie.
  await findGitdir(repo);
  const { settings } = (await loadWorktree(repo)).config;
  const desiredTip = await branchTip(repo, settings.desiredBranch);
  const desired = desiredTip
    ? await readJsonFolder<DesiredState>(repo, desiredTip, "nodes")
    : new Map<string, DesiredState>();
  let statuses = new Map<string, NodeStatus>();
  const liveness = new Map<string, LivenessFact>();
  let published: PublishedSummary | undefined;
  const statusTip = await branchTip(repo, settings.statusBranch);
  if (statusTip) {
    statuses = await readJsonFolder<NodeStatus>(repo, statusTip, "nodes");
    for (const [node, record] of await readJsonFolder<unknown>(repo, statusTip, LIVENESS_DIR)) {
      const v = parseLivenessRecord(record);
      if (v) liveness.set(node, v);
    }
  }
  if (desiredTip) {
    const meta = await readJsonFile<{
      generation: number;
      source: { commit: string };
      handoffs?: Handoff[];
      failover?: NonNullable<PublishedSummary["failover"]>;
    }>(repo, desiredTip, "meta.json");
    if (meta) {
      published = { generation: meta.generation, commit: meta.source.commit };
      if (meta.handoffs?.length) published.handoffs = meta.handoffs.map(pendingNote);
      if (meta.failover?.length) published.failover = meta.failover;
    }
  }
  if (published?.commit) published.ahead = await aheadOf(repo, settings.branch, published.commit);
  return summarise(
    {
      desired,
      statuses,
      ...(liveness.size > 0 ? { liveness, livenessSource: "committed" as const } : {}),
      ...(published ? { published } : {}),
    },
    filter,
  );
}

async function fetchLive(
  url: string,
  tokenFile?: string,
): Promise<{ nodes: NodeOverview[]; published: PublishedSummary; health?: PublishedSummary["health"] }> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (tokenFile) headers.authorization = `Bearer ${await readTokenFile(tokenFile)}`;
  let endpoint: string;
  try {
    endpoint = new URL("/v1/nodes", url).toString();
  } catch {
    throw new UserError(`--url ${JSON.stringify(url)} is not a URL`, "e.g. --url https://berth.example.com");
  }
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(endpoint, { headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
  } catch (err) {
    throw new UserError(
      `cannot reach the reconciler at ${endpoint}: ${(err as Error).message}`,
      "is `berth serve` running, and is --url its address?",
    );
  }
  const body = await res.body.text();
  if (res.statusCode === 401) {
    throw new UserError(
      `GET ${endpoint} answered 401: ${body.slice(0, 300)}`,
      "pass the reconciler's admin token with --api-token-file FILE",
    );
  }
  if (res.statusCode !== 200) {
    throw new UserError(`GET ${endpoint} answered ${res.statusCode}: ${body.slice(0, 300)}`);
  }
  try {
    return JSON.parse(body) as {
      nodes: NodeOverview[];
      published: PublishedSummary;
      health?: PublishedSummary["health"];
    };
  } catch {
    throw new UserError(`GET ${endpoint} did not answer JSON: is --url a berth reconciler?`);
  }
}

/** The tracked branch's tip when it is not the published commit (and how many commits after it). */
async function aheadOf(repo: string, branch: string, published: string): Promise<PublishedSummary["ahead"]> {
  const tip = await branchTip(repo, branch);
  if (!tip || tip === published) return undefined;
  const after = (await gitOk(repo, ["merge-base", "--is-ancestor", published, tip]))
    ? await git(repo, ["rev-list", "--count", `${published}..${tip}`]).catch(() => null)
    : null;
  return { branch, tip, commits: after === null ? null : Number(after) };
}

async function readTokenFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UserError(
      `cannot read --api-token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const token = text.trim();
  if (!token) throw new UserError(`--api-token-file ${file} is empty`);
  return token;
}

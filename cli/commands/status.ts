// `berth status [--node N] [--app A] [--watch] [--json] [--url URL]`: what runs against what should
// run. Reads the status and desired branches of the repo (no reconciler needed); with --url it
// takes statuses and last-seen times from the live API instead.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { request } from "undici";
import { type PublishedSummary, type StatusSummary, summarise } from "../../core/status/summary.js";
import { loadWorktree } from "../../reconciler/repo/load.js";
import type { DesiredState, NodeStatus } from "../../schema/index.js";
import { branchTip, readJsonFile, readJsonFolder } from "../branch-files.js";
import { painter, readGlobals } from "../context.js";
import { UserError } from "../errors.js";
import { git, gitOk } from "../git-cli.js";
import { renderStatus } from "../status-view.js";

interface StatusOptions {
  node?: string;
  app?: string;
  watch?: boolean;
  url?: string;
  apiTokenFile?: string;
  interval?: string;
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
    .action(async (opts: StatusOptions, cmd: Command) => {
      const g = readGlobals(cmd);
      const paint = painter(g.color);
      const once = async (): Promise<string> => {
        const summary = await collect(g.repo, opts);
        return g.json ? `${JSON.stringify(summary, null, 2)}\n` : renderStatus(summary, paint, Date.now());
      };
      if (!opts.watch) {
        process.stdout.write(await once());
        return;
      }
      const every = Math.max(0.5, Number(opts.interval) || 2) * 1000;
      for (;;) {
        const text = await once().catch((err: Error) => `error: ${err.message}\n`);
        if (process.stdout.isTTY && !g.json) process.stdout.write("\x1b[2J\x1b[H");
        process.stdout.write(text);
        await new Promise((r) => setTimeout(r, every));
      }
    });
}

export async function collect(repo: string, opts: StatusOptions): Promise<StatusSummary> {
  const { settings } = (await loadWorktree(repo)).config;
  const desiredTip = await branchTip(repo, settings.desiredBranch);
  const desired = desiredTip
    ? await readJsonFolder<DesiredState>(repo, desiredTip, "nodes")
    : new Map<string, DesiredState>();
  let statuses = new Map<string, NodeStatus>();
  let lastSeen: Map<string, number | null> | undefined;
  let published: PublishedSummary | undefined;
  if (opts.url) {
    const live = await fetchLive(opts.url, opts.apiTokenFile);
    statuses = new Map(live.nodes.flatMap((n) => (n.status ? [[n.node, n.status] as const] : [])));
    lastSeen = new Map(live.nodes.map((n) => [n.node, n.lastSeen === null ? null : Date.parse(n.lastSeen)]));
    published = live.health ? { ...live.published, health: live.health } : live.published;
  } else {
    const statusTip = await branchTip(repo, settings.statusBranch);
    if (statusTip) statuses = await readJsonFolder<NodeStatus>(repo, statusTip, "nodes");
    if (desiredTip) {
      const meta = await readJsonFile<{ generation: number; source: { commit: string } }>(
        repo,
        desiredTip,
        "meta.json",
      );
      if (meta) published = { generation: meta.generation, commit: meta.source.commit };
    }
    if (published?.commit) {
      const tip = await branchTip(repo, settings.branch);
      if (tip && tip !== published.commit) {
        const count = await gitOk(repo, ["merge-base", "--is-ancestor", published.commit, tip]).then((yes) =>
          yes ? git(repo, ["rev-list", "--count", `${published?.commit}..${tip}`]).catch(() => null) : null,
        );
        published.ahead = { branch: settings.branch, tip, commits: count === null ? null : Number(count) };
      }
    }
  }
  const filter: { node?: string; app?: string } = {};
  if (opts.node) filter.node = opts.node;
  if (opts.app) filter.app = opts.app;
  return summarise(
    { desired, statuses, ...(lastSeen ? { lastSeen } : {}), ...(published ? { published } : {}) },
    filter,
  );
}

interface LiveNode {
  node: string;
  /** ISO time, null when never seen by this reconciler process. */
  lastSeen: string | null;
  status: NodeStatus | null;
}

async function fetchLive(
  url: string,
  tokenFile?: string,
): Promise<{ nodes: LiveNode[]; published: PublishedSummary; health?: PublishedSummary["health"] }> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (tokenFile) headers.authorization = `Bearer ${readFileSync(tokenFile, "utf8").trim()}`;
  const endpoint = new URL("/v1/nodes", url).toString();
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(endpoint, { headers, headersTimeout: 10_000, bodyTimeout: 10_000 });
  } catch (err) {
    throw new UserError(
      `cannot reach the reconciler at ${endpoint}: ${(err as Error).message}`,
      "is `berth serve` running?",
    );
  }
  const body = await res.body.text();
  if (res.statusCode !== 200) {
    throw new UserError(`GET ${endpoint} answered ${res.statusCode}: ${body.slice(0, 300)}`);
  }
  return JSON.parse(body) as {
    nodes: LiveNode[];
    published: PublishedSummary;
    health?: PublishedSummary["health"];
  };
}

// `berth history [--limit N] [--json]`: the published generations, newest first, read from the
// desired branch (one commit per generation): generation, source commit, time, plan summary.

import type { Command } from "commander";
import git from "isomorphic-git";
import { oneLine } from "../../core/escape.js";
import { moveText } from "../../core/plan/index.js";
import { findGitdir, loadWorktree } from "../../reconciler/repo/load.js";
import type { Plan } from "../../schema/index.js";
import { branchTip, gitArgs, readJsonFile } from "../branch-files.js";
import { painter, readGlobals } from "../context.js";
import { UserError } from "../errors.js";

export interface Generation {
  generation: number | null;
  desiredCommit: string;
  time: string;
  source: { branch: string; commit: string; subject: string } | null;
  summary: Plan["summary"] | null;
  /** The generation's moves and handoff notes, one line each. */
  notes: string[];
  message: string;
}

export function register(program: Command): void {
  program
    .command("history")
    .description("published generations: source commit, time, plan summary")
    .option("--limit <n>", "at most this many generations", "20")
    .action(async (opts: { limit: string }, cmd: Command) => {
      const g = readGlobals(cmd);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UserError(`--limit must be a positive integer, not ${opts.limit}`);
      const gens = await readHistory(g.repo, limit);
      if (g.json) {
        process.stdout.write(`${JSON.stringify(gens, null, 2)}\n`);
        return;
      }
      if (gens.length === 0) {
        process.stdout.write("Nothing published yet (the desired branch does not exist).\n");
        return;
      }
      const paint = painter(g.color);
      for (const gen of gens) {
        const n = gen.generation === null ? "?" : String(gen.generation);
        const src = gen.source ? `${gen.source.branch}@${gen.source.commit.slice(0, 7)}` : "?";
        const s = gen.summary;
        const plan = s
          ? s.add + s.change + s.remove === 0
            ? "No changes."
            : `Plan: ${s.add} to add, ${s.change} to change, ${s.remove} to remove.`
          : oneLine(gen.message);
        process.stdout.write(
          `${paint("bold", `#${n}`.padEnd(6))} ${paint("dim", gen.time)}  ${paint("cyan", src)}  ${plan}` +
            `${gen.source?.subject ? paint("dim", `  ${oneLine(gen.source.subject)}`) : ""}\n`,
        );
        for (const note of gen.notes) process.stdout.write(`       ${paint("yellow", oneLine(note))}\n`);
      }
    });
}

export async function readHistory(repo: string, limit: number): Promise<Generation[]> {
  // Outside a git repository there is no history to read: say so rather than "nothing published".
  await findGitdir(repo);
  const { settings } = (await loadWorktree(repo)).config;
  const tip = await branchTip(repo, settings.desiredBranch);
  if (!tip) return [];
  const commits = await git.log({ ...gitArgs(repo), ref: tip, depth: limit });
  return Promise.all(
    commits.map(async (c): Promise<Generation> => {
      const [meta, plan] = await Promise.all([
        readJsonFile<{ generation?: number; source?: Generation["source"] }>(repo, c.oid, "meta.json"),
        readJsonFile<Plan>(repo, c.oid, "plan.json"),
      ]);
      return {
        generation: typeof meta?.generation === "number" ? meta.generation : null,
        desiredCommit: c.oid,
        time: new Date(c.commit.committer.timestamp * 1000).toISOString(),
        source: meta?.source ?? null,
        summary: plan?.summary ?? null,
        notes: [
          // What moved a generation on when no commit did (failover over, a handoff step) leads
          // its commit subject: `Publish main@abc: <that>; Plan: …`.
          ...leadOf(c.commit.message, plan),
          ...(plan?.failover ?? []).map((f) => f.message),
          ...(plan?.moves ?? []).map(moveText),
          ...(plan?.handoffs ?? []).map((h) => h.message),
        ],
        message: c.commit.message.split("\n")[0] ?? "",
      };
    }),
  );
}

/** The reason berth put before the plan summary in a generation's subject, unless the plan says it already. */
function leadOf(message: string, plan: Plan | null): string[] {
  const lead = /^Publish \S+: (.*); Plan: /.exec(message.split("\n")[0] ?? "")?.[1];
  if (!lead) return [];
  const said = [...(plan?.failover ?? []), ...(plan?.handoffs ?? [])].some((n) =>
    n.message.startsWith(lead.replace(/ \(\+\d+ more\)$/, "")),
  );
  return said ? [] : [lead];
}

// `berth rollback COMMIT [--dry-run] [--push]`: a new commit on the tracked branch whose tree equals
// COMMIT's, so the reconciler publishes the old config as a new generation (history is kept; nothing
// is rewritten). Prints the plan of the rollback first; refuses a dirty work tree, a commit outside
// the branch's history, and an invalid target.

import type { Command } from "commander";
import { ParseCache } from "../../core/config/index.js";
import { oneLine } from "../../core/escape.js";
import { Evaluator } from "../../core/evaluate.js";
import { computePlan } from "../../core/plan/index.js";
import { renderJson } from "../../core/views/json.js";
import { renderText } from "../../core/views/text.js";
import { loadCommit } from "../../reconciler/repo/load.js";
import { loadCommitInput } from "../../reconciler/source/config-input.js";
import { readGlobals } from "../context.js";
import { FailedError, UserError } from "../errors.js";
import { git, gitOk } from "../git-cli.js";

interface RollbackOptions {
  dryRun?: boolean;
  push?: boolean;
  remote?: string;
}

export function register(program: Command): void {
  program
    .command("rollback <commit>")
    .description("commit the config of COMMIT again on the tracked branch (a new commit; history is kept)")
    .option("--dry-run", "print the plan of the rollback and change nothing")
    .option("--push", "push the tracked branch after committing")
    .option("--remote <name>", "remote to push to (default: the branch's upstream, else origin)")
    .action(async (commit: string, opts: RollbackOptions, cmd: Command) => {
      const g = readGlobals(cmd);
      const out = await rollback(g.repo, commit, opts, { json: g.json, color: g.color });
      process.stdout.write(out);
    });
}

export async function rollback(
  repo: string,
  target: string,
  opts: RollbackOptions,
  view: { json: boolean; color: boolean },
): Promise<string> {
  const caches = { parse: new ParseCache(), evaluator: new Evaluator() };
  const head = await loadCommit(repo, "HEAD", { cache: caches.parse });
  const branch = head.config.settings.branch;
  const current = await git(repo, ["symbolic-ref", "--quiet", "--short", "HEAD"]).catch(
    () => "(detached HEAD)",
  );
  if (current !== branch) {
    throw new UserError(
      `HEAD is on ${current}, not on the tracked branch ${branch}`,
      `run: git switch ${branch}`,
    );
  }
  const dirty = await git(repo, ["status", "--porcelain", "--untracked-files=no"]);
  if (dirty) {
    throw new UserError(
      `the work tree has uncommitted changes:\n${dirty}`,
      "commit or stash them first (git stash), so the rollback commit holds exactly the old config",
    );
  }
  const sha = await git(repo, ["rev-parse", "--verify", "--quiet", `${target}^{commit}`]).catch(() => {
    throw new UserError(`${target} is not a commit in ${repo}`, "see `git log --oneline` or `berth history`");
  });
  if (!(await gitOk(repo, ["merge-base", "--is-ancestor", sha, branch]))) {
    throw new UserError(
      `${sha.slice(0, 7)} is not in the history of ${branch}`,
      `roll back only to commits that ${branch} contains`,
    );
  }
  const [targetTree, headTree] = await Promise.all([
    git(repo, ["rev-parse", `${sha}^{tree}`]),
    git(repo, ["rev-parse", "HEAD^{tree}"]),
  ]);
  // --json: one document, whatever happens (docs/operating.md, "Rolling back").
  const result = (r: { rolledBack: boolean; commit?: string; pushed?: string; plan?: string }) =>
    `${JSON.stringify(
      {
        target: sha,
        branch,
        dryRun: opts.dryRun === true,
        rolledBack: r.rolledBack,
        commit: r.commit ?? null,
        pushedTo: r.pushed ?? null,
        // The plan as `berth plan --json` prints it (renderJson keeps the schema's field order).
        plan: r.plan === undefined ? null : JSON.parse(r.plan),
      },
      null,
      2,
    )}\n`;
  if (targetTree === headTree) {
    if (view.json) return result({ rolledBack: false });
    return `Nothing to roll back: ${branch} already has the config of ${sha.slice(0, 7)}.\n`;
  }

  // Base first: the head's evaluation then reuses the base's placement for unchanged apps.
  const base = await loadCommitInput(repo, head.commit, branch, caches, head.commit.slice(0, 7));
  const old = await loadCommitInput(repo, sha, branch, caches, sha.slice(0, 7));
  const plan = computePlan(base.input, old.input);
  const rendered = view.json ? renderJson(plan) : renderText(plan, { color: view.color });
  if (!plan.valid) {
    process.stdout.write(view.json ? result({ rolledBack: false, plan: rendered }) : rendered);
    throw new FailedError(`refusing to roll back to ${sha.slice(0, 7)}: its config is invalid (see above)`);
  }
  if (opts.dryRun) {
    return view.json
      ? result({ rolledBack: false, plan: rendered })
      : `${rendered}\n(dry run: nothing committed)\n`;
  }

  const subject = old.subject || "(no subject)";
  const message = `Rollback to ${sha.slice(0, 7)}: ${subject}`;
  const created = await git(repo, ["commit-tree", targetTree, "-p", "HEAD", "-m", message]);
  // A fast-forward moves the branch and the (clean) work tree together, and fails if HEAD moved meanwhile.
  await git(repo, ["merge", "--ff-only", "--quiet", created]);
  let pushed = "";
  let pushedTo: string | undefined;
  if (opts.push) {
    const remote =
      opts.remote ?? ((await git(repo, ["config", `branch.${branch}.remote`]).catch(() => "")) || "origin");
    await git(repo, ["push", remote, `${branch}:${branch}`]);
    pushed = ` and pushed to ${remote}`;
    pushedTo = remote;
  }
  if (view.json)
    return result({
      rolledBack: true,
      commit: created,
      plan: rendered,
      ...(pushedTo ? { pushed: pushedTo } : {}),
    });
  const note =
    `\nCommitted ${created.slice(0, 7)} "${oneLine(message)}" on ${branch}${pushed}.\n` +
    (opts.push ? "" : "Push it (or run with --push) so a remote reconciler publishes it.\n");
  return `${rendered}${note}`;
}

// `berth plan [--base REF] [--head REF] [--format text|json|markdown] [--detailed-exitcode]`:
// what would change between two states of the config repo. Head defaults to the working tree
// (uncommitted edits included); base to what was last published on the desired branch, else the
// empty state. Exit 0, 1 (invalid head or error), 2 (changes, with --detailed-exitcode).
// A thin shell: loading is reconciler/repo's, planning and rendering are core's.
import type { Command } from "commander";
import { formatDiagnostic } from "../../core/config/diagnostics.js";
import type { ParseCache } from "../../core/config/index.js";
import { ParseCache as Cache } from "../../core/config/index.js";
import type { Diagnostic, LoadResult } from "../../core/config/model.js";
import { evaluate } from "../../core/evaluate.js";
import { computePlan, hasChanges, type PlanInput } from "../../core/plan/index.js";
import { renderJson } from "../../core/views/json.js";
import { renderMarkdown } from "../../core/views/markdown.js";
import { renderText } from "../../core/views/text.js";
import { openGitDir } from "../../reconciler/git/objects.js";
import { readRef } from "../../reconciler/git/refs.js";
import { findGitdir, loadCommit, loadWorktree, RepoError } from "../../reconciler/repo/load.js";
import { readDesiredCommit } from "../../reconciler/store/desired-store.js";
import { readGlobals } from "../context.js";
import { exitCodes, FailedError, UserError } from "../errors.js";

type Format = "text" | "json" | "markdown";

interface Options {
  base?: string;
  head?: string;
  format?: string;
  detailedExitcode?: boolean;
}

export function register(program: Command): void {
  program
    .command("plan")
    .description("show what would change between two states of the config repo")
    .option("--base <ref>", "compare against this commit (default: the last published one, else nothing)")
    .option("--head <ref>", "plan this commit (default: the working tree, uncommitted edits included)")
    .option("--format <format>", "text, json or markdown (default text; --json means json)")
    .option("--detailed-exitcode", "exit 2 when there are changes (0: none, 1: error or invalid)")
    .action(async (opts: Options, cmd: Command) => {
      const g = readGlobals(cmd);
      const format = formatOf(opts.format, g.json);
      const cache = new Cache();
      const head = await headInput(g.repo, opts.head, cache);
      // Warnings (e.g. a proxy that would dial another node's loopback) never block a plan.
      for (const d of head.warnings) warn(formatDiagnostic(d, "warning"));
      const desiredBranch = head.config?.settings.desiredBranch ?? "berth/desired";
      const base = opts.base
        ? await commitInput(g.repo, opts.base, cache, "base")
        : await publishedInput(g.repo, desiredBranch, cache);
      const plan = computePlan(base, head);

      const out =
        format === "json"
          ? renderJson(plan)
          : format === "markdown"
            ? `${renderMarkdown(plan)}\n`
            : renderText(plan, { color: g.color });
      process.stdout.write(out);
      if (!plan.valid) throw new FailedError("");
      if (opts.detailedExitcode && hasChanges(plan)) process.exitCode = exitCodes.changes;
    });
}

function formatOf(format: string | undefined, json: boolean): Format {
  if (format === undefined) return json ? "json" : "text";
  if (json && format !== "json") {
    throw new UserError(
      `--json and --format ${format} ask for two different outputs`,
      "use --json (or --format json) for JSON, or --format text|markdown without --json",
    );
  }
  if (format === "text" || format === "json" || format === "markdown") return format;
  throw new UserError(`unknown --format "${format}"`, "use --format text, json or markdown");
}

async function load<T>(what: () => Promise<T>): Promise<T> {
  try {
    return await what();
  } catch (err) {
    if (err instanceof RepoError) throw new UserError(err.message, err.hint);
    throw err;
  }
}

function evaluated(load: LoadResult, side: PlanInput["side"], commit: string): PlanInput {
  const ev = evaluate(load, { branch: load.config.settings.branch, commit });
  return { side, config: ev.valid ? load.config : null, desired: ev.desired, diagnostics: ev.diagnostics };
}

async function headInput(
  repo: string,
  ref: string | undefined,
  cache: ParseCache,
): Promise<PlanInput & { warnings: Diagnostic[] }> {
  if (ref !== undefined) return commitInput(repo, ref, cache, "head");
  const loaded = await load(() => loadWorktree(repo, { cache }));
  const input = evaluated(loaded, { ref: "worktree", commit: null }, "worktree");
  // An invalid head keeps its config for the settings (desired branch name) only.
  return { ...input, config: loaded.config, warnings: loaded.warnings ?? [] };
}

async function commitInput(
  repo: string,
  ref: string,
  cache: ParseCache,
  role: "base" | "head",
): Promise<PlanInput & { warnings: Diagnostic[] }> {
  const loaded = await load(() => loadCommit(repo, ref, { cache }));
  const input = evaluated(loaded, { ref, commit: loaded.commit, subject: loaded.subject }, loaded.commit);
  if (role === "head") return { ...input, config: loaded.config, warnings: loaded.warnings ?? [] };
  if (input.diagnostics.length > 0) {
    warn(
      `base ${ref} is not a valid config (${input.diagnostics.length} errors): comparing with nothing instead`,
    );
    return { side: input.side, config: null, desired: new Map(), diagnostics: [], warnings: [] };
  }
  return { ...input, warnings: [] };
}

/** What the desired branch last published: its documents as published, and the config commit's specs. */
async function publishedInput(repo: string, branch: string, cache: ParseCache): Promise<PlanInput | null> {
  let gitdir: string;
  try {
    gitdir = await findGitdir(repo);
  } catch {
    warn("not a git repository: comparing with nothing (the empty state)");
    return null;
  }
  const tip = await readRef(gitdir, `refs/heads/${branch}`);
  if (tip === null) {
    warn(`nothing published yet (no branch ${branch}): comparing with the empty state`);
    return null;
  }
  const published = await readDesiredCommit(openGitDir(gitdir), tip);
  const snap = published.snapshot;
  const commit = snap?.source.commit ?? snap?.plan?.head.commit ?? null;
  if (!snap || commit === null) {
    warn(
      `${branch} holds no readable published state (${published.problems.join("; ")}): comparing with the empty state`,
    );
    return null;
  }
  const side = { ref: branch, commit, subject: snap.source.subject };
  try {
    const loaded = await loadCommit(repo, commit, { cache });
    return {
      side,
      config: loaded.diagnostics.length === 0 ? loaded.config : null,
      desired: snap.docs,
      diagnostics: [],
    };
  } catch (err) {
    if (!(err instanceof RepoError)) throw err;
    // The published documents are still the truth of what runs; only config-level changes are lost.
    warn(
      `published commit ${commit.slice(0, 7)} is not in this repo (${err.message}): config changes are shown against nothing`,
    );
    return { side, config: null, desired: snap.docs, diagnostics: [] };
  }
}

function warn(message: string): void {
  process.stderr.write(`berth plan: ${message}\n`);
}

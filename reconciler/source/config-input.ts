// Turns a commit (or the working tree) of the config repo into what the plan engine compares:
// load (through a warm parse cache) → evaluate (placement, desired documents) → PlanInput. Also
// reads the branch settings (tracked, desired, status) a commit declares. I/O (reads git).
import type { ParseCache } from "../../core/config/index.js";
import type { LoadResult } from "../../core/config/model.js";
import type { Evaluation, Evaluator } from "../../core/evaluate.js";
import type { PlanInput } from "../../core/plan/index.js";
import type { Settings } from "../../schema/index.js";
import { loadCommit, loadWorktree, RepoError } from "../repo/load.js";
import type { ConfigSource } from "./types.js";

export interface Caches {
  parse: ParseCache;
  evaluator: Evaluator;
}

export interface LoadedInput {
  commit: string | null;
  subject: string;
  load: LoadResult;
  evaluation: Evaluation;
  input: PlanInput;
}

/** Error for a ref the caller named that the repo does not have (HTTP 400, not 500). */
export class UnknownRefError extends Error {
  override name = "UnknownRefError";
  readonly code = "UNKNOWN_REF";
  readonly statusCode = 400;
}

/** Loads and evaluates commit `ref` of the repo at `dir`; `label` is what the plan shows as its ref. */
export async function loadCommitInput(
  dir: string,
  ref: string,
  branch: string,
  caches: Caches,
  label: string = ref,
): Promise<LoadedInput> {
  let load: Awaited<ReturnType<typeof loadCommit>>;
  try {
    load = await loadCommit(dir, ref, { cache: caches.parse });
  } catch (err) {
    if (err instanceof RepoError && (err.code === "ref-not-found" || err.code === "ref-ambiguous")) {
      throw new UnknownRefError(`unknown ref "${ref}": ${err.message}${err.hint ? ` (${err.hint})` : ""}`);
    }
    throw err;
  }
  const evaluation = caches.evaluator.evaluate(load, { branch, commit: load.commit });
  return {
    commit: load.commit,
    subject: load.subject,
    load,
    evaluation,
    input: {
      side: { ref: label, commit: load.commit, subject: load.subject },
      config: load.config,
      desired: evaluation.desired,
      diagnostics: evaluation.diagnostics,
    },
  };
}

/** Loads and evaluates the working tree at `dir` (uncommitted edits included). */
export async function loadWorktreeInput(dir: string, branch: string, caches: Caches): Promise<LoadedInput> {
  const load = await loadWorktree(dir, { cache: caches.parse });
  const evaluation = caches.evaluator.evaluate(load, { branch, commit: "worktree" });
  return {
    commit: null,
    subject: "",
    load,
    evaluation,
    input: {
      side: { ref: "worktree", commit: null },
      config: load.config,
      desired: evaluation.desired,
      diagnostics: evaluation.diagnostics,
    },
  };
}

export interface BranchSettings {
  branch: string;
  desiredBranch: string;
  statusBranch: string;
  /** The forge hosting the repo, when berth.yaml names one (commit statuses, PR plans). */
  forge?: Settings["forge"];
  /** berth's own alerting and the operations page's URL, as the tracked tip declares them at start. */
  alerts?: Settings["alerts"];
  publicUrl?: string;
}

export const defaultBranches: BranchSettings = {
  branch: "main",
  desiredBranch: "berth/desired",
  statusBranch: "berth/status",
};

/** The branch settings commit `ref` declares in its Settings document (defaults when it has none). */
export async function settingsAt(dir: string, ref: string, caches: Caches): Promise<BranchSettings> {
  const { config } = await loadCommit(dir, ref, { cache: caches.parse });
  const s = config.settings;
  return {
    branch: s.branch ?? defaultBranches.branch,
    desiredBranch: s.desiredBranch ?? defaultBranches.desiredBranch,
    statusBranch: s.statusBranch ?? defaultBranches.statusBranch,
    ...(s.forge ? { forge: s.forge } : {}),
    ...(s.alerts ? { alerts: s.alerts } : {}),
    ...(s.publicUrl ? { publicUrl: s.publicUrl } : {}),
  };
}

/**
 * The branches to use: `berth.yaml` on the repo's default branch names the tracked branch (or
 * `override` does), and the tracked branch's own `berth.yaml` names the desired and status
 * branches. Remote: each branch read is fetched first. Defaults when nothing is committed yet.
 */
export async function discoverBranches(
  source: ConfigSource,
  caches: Caches,
  override?: string,
): Promise<BranchSettings> {
  const candidate = override ?? (await source.defaultBranch().catch(() => null)) ?? defaultBranches.branch;
  const tipOf = (b: string) => (source.mode === "remote" ? source.refresh(b) : source.tip(b));
  const tip = await tipOf(candidate);
  if (tip === null) return { ...defaultBranches, branch: candidate };
  const found = await settingsAt(source.loadDir, tip, caches);
  if (override !== undefined) return { ...found, branch: override };
  if (found.branch === candidate) return found;
  const trackedTip = await tipOf(found.branch);
  if (trackedTip === null) return found;
  return { ...(await settingsAt(source.loadDir, trackedTip, caches)), branch: found.branch };
}

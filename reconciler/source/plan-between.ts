// A plan between two refs for the API (`berth plan --url`, GET /v1/plan): head is a ref or, in
// local mode, "worktree"; base is a ref or, when absent, what is published. Fresh caches: a plan
// between arbitrary refs must not cool the loop's warm ones.
import { ParseCache } from "../../core/config/index.js";
import { Evaluator } from "../../core/evaluate.js";
import { computePlan, type PlanInput } from "../../core/plan/index.js";
import type { Plan } from "../../schema/index.js";
import { type Caches, loadCommitInput, loadWorktreeInput } from "./config-input.js";
import type { ConfigSource } from "./types.js";

export async function planBetween(
  source: Pick<ConfigSource, "mode" | "loadDir">,
  branch: string,
  published: () => Promise<PlanInput | null>,
  base: string | undefined,
  head: string | undefined,
): Promise<Plan> {
  const caches: Caches = { parse: new ParseCache({ keepLoads: 2 }), evaluator: new Evaluator() };
  const headRef = head ?? branch;
  const headIn =
    headRef === "worktree" && source.mode === "local"
      ? await loadWorktreeInput(source.loadDir, branch, caches)
      : await loadCommitInput(source.loadDir, headRef, branch, caches);
  const baseIn =
    base === undefined
      ? await published()
      : (await loadCommitInput(source.loadDir, base, branch, caches)).input;
  return computePlan(baseIn, headIn.input);
}

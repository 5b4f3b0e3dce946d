// Turns a loaded commit or working tree into one side of a plan (evaluate = place + desired docs).
import type { LoadResult } from "../core/config/model.js";
import { evaluate } from "../core/evaluate.js";
import type { PlanInput } from "../core/plan/index.js";

export function planInput(
  load: LoadResult & { commit: string | null; subject?: string },
  branch: string,
  ref?: string,
): PlanInput {
  const commit = load.commit ?? "worktree";
  const ev = evaluate(load, { branch, commit });
  const side: PlanInput["side"] = {
    ref: ref ?? (load.commit ? load.commit.slice(0, 7) : "worktree"),
    commit: load.commit,
  };
  if (load.subject) side.subject = load.subject;
  return {
    side,
    config: ev.valid ? load.config : null,
    desired: ev.desired,
    diagnostics: ev.diagnostics,
  };
}

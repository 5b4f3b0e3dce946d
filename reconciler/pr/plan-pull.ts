// Computes one pull request's plan from the bare cache: loads the base branch tip and the head
// commit, evaluates both and renders the markdown comment with file:line links into the head.
// Keeps warm caches between pull requests (parsed files by blob id, the base evaluation by
// commit, the evaluator's placement memo), so the next push of a PR re-reads only what changed.
import type { ParseCache as ParseCacheType } from "../../core/config/index.js";
import { ParseCache } from "../../core/config/index.js";
import { Evaluator } from "../../core/evaluate.js";
import { computePlan, type PlanInput } from "../../core/plan/index.js";
import { renderMarkdown } from "../../core/views/markdown.js";
import type { Plan } from "../../schema/index.js";
import type { ForgeKind } from "../forge/endpoints.js";
import { loadCommit } from "../repo/load.js";
import { fileLink } from "./links.js";

export interface PullPlanRequest {
  number: number;
  baseRef: string;
  baseSha: string;
  headSha: string;
  headRef?: string;
}

export interface PullPlan {
  plan: Plan;
  markdown: string;
  /** The base tip itself is invalid: the plan compares against the empty state. */
  baseInvalid: boolean;
}

export interface PullPlanEngine {
  plan(req: PullPlanRequest): Promise<PullPlan>;
  /** Loads and evaluates a base tip ahead of time, so the first pull request finds it warm. */
  warmBase(ref: string, sha: string): Promise<void>;
  readonly parseCache: ParseCacheType;
}

/** Most base evaluations kept (one per base branch tip recently seen). */
const baseMemo = 2;

export function createPullPlanEngine(opts: {
  gitdir: string;
  kind: ForgeKind;
  webUrl?: string;
  maxLength?: number;
}): PullPlanEngine {
  // Base, head and one spare load keep their parsed files (several PRs share most of them).
  const parseCache = new ParseCache({ keepLoads: 6 });
  // One evaluator for base and heads: it redoes only what differs from its previous run, and a
  // head differs from the base (or from the previous head) by one pull request's changes.
  const evaluator = new Evaluator();
  const bases = new Map<string, PlanInput>();

  async function baseInput(ref: string, sha: string): Promise<PlanInput> {
    const hit = bases.get(sha);
    if (hit) return hit;
    const load = await loadCommit(opts.gitdir, sha, { cache: parseCache });
    const ev = evaluator.evaluate(load, { branch: ref, commit: sha });
    const input: PlanInput = {
      side: { ref, commit: sha, subject: load.subject },
      config: ev.valid ? load.config : null,
      desired: ev.desired,
      diagnostics: [],
    };
    bases.set(sha, input);
    while (bases.size > baseMemo) bases.delete(bases.keys().next().value as string);
    return input;
  }

  return {
    parseCache,
    async warmBase(ref, sha) {
      await baseInput(ref, sha);
    },
    async plan(req) {
      const base = await baseInput(req.baseRef, req.baseSha);
      const load = await loadCommit(opts.gitdir, req.headSha, { cache: parseCache });
      // The head is evaluated as if merged into the base branch: same branch name in its documents.
      const ev = evaluator.evaluate(load, { branch: req.baseRef, commit: req.headSha });
      const plan = computePlan(base, {
        side: { ref: req.headRef ?? `#${req.number}`, commit: req.headSha, subject: load.subject },
        config: load.config,
        desired: ev.desired,
        diagnostics: ev.diagnostics,
      });
      const webUrl = opts.webUrl;
      let markdown = renderMarkdown(plan, {
        maxLength: opts.maxLength ?? 60_000,
        fileUrl: webUrl ? (file, line) => fileLink(opts.kind, webUrl, req.headSha, file, line) : undefined,
      });
      const baseInvalid = base.config === null;
      if (baseInvalid) {
        markdown = addNote(
          markdown,
          `> **Note:** the tip of \`${req.baseRef}\` is itself invalid, so this plan compares against an empty state.`,
          opts.maxLength ?? 60_000,
        );
      }
      return { plan, markdown, baseInvalid };
    },
  };
}

/** Inserts a note after the marker and summary lines, keeping the comment within `max`. */
function addNote(markdown: string, note: string, max: number): string {
  const lines = markdown.split("\n");
  lines.splice(2, 0, "", note);
  const out = lines.join("\n");
  return out.length <= max ? out : markdown;
}

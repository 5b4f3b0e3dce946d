// The history view-model: published generations, newest first, each with its plan summary, a
// link to its source commit on the forge (when the forge's web address is known) and the exact
// `berth rollback` command that brings its config back. Pure.
import type { Plan } from "../../../schema/index.js";

/** One generation as read from the desired branch (meta.json and plan.json of its commit). */
export interface GenerationInput {
  generation: number;
  desiredCommit: string;
  /** Commit time of the desired-branch commit (ISO). */
  at: string;
  source: { branch: string; commit: string; subject: string } | null;
  plan: Plan | null;
}

export interface Forge {
  kind: "github" | "gitea" | "gitlab";
  /** The repo's web address, e.g. https://github.com/acme/config (no trailing slash needed). */
  webUrl: string;
}

export interface GenerationRow {
  generation: number;
  desiredCommit: string;
  at: string;
  branch: string | null;
  commit: string | null;
  subject: string | null;
  summary: Plan["summary"] | null;
  valid: boolean;
  /** The web page of the source commit on the forge, or null. */
  commitUrl: string | null;
  /** The command that commits this generation's config again (null when its source is unknown). */
  rollback: string | null;
  /** The generation served now. */
  current: boolean;
}

/** `webUrl/commit/<sha>` (GitHub, Gitea, Forgejo) or `webUrl/-/commit/<sha>` (GitLab). */
export function commitUrl(forge: Forge | null | undefined, sha: string): string | null {
  if (!forge || !/^[0-9a-f]{7,64}$/.test(sha)) return null;
  const base = forge.webUrl.replace(/\/+$/, "");
  return `${base}/${forge.kind === "gitlab" ? "-/commit" : "commit"}/${sha}`;
}

/** The exact command, run in a clone of the config repo on the tracked branch. */
export function rollbackCommand(commit: string): string {
  return `berth rollback ${commit}`;
}

export function generationRow(g: GenerationInput, current: number, forge?: Forge | null): GenerationRow {
  const commit = g.source?.commit ?? null;
  return {
    generation: g.generation,
    desiredCommit: g.desiredCommit,
    at: g.at,
    branch: g.source?.branch ?? null,
    commit,
    subject: g.source?.subject ?? null,
    summary: g.plan?.summary ?? null,
    valid: g.plan?.valid ?? true,
    commitUrl: commit ? commitUrl(forge, commit) : null,
    // Rolling back to what is served now would change nothing.
    rollback: commit && g.generation !== current ? rollbackCommand(commit) : null,
    current: g.generation === current,
  };
}

export function historyRows(
  gens: readonly GenerationInput[],
  current: number,
  forge?: Forge | null,
): GenerationRow[] {
  return [...gens].sort((a, b) => b.generation - a.generation).map((g) => generationRow(g, current, forge));
}
